/*
 * tests/arduino/fakes/fakes.cpp — the behaviour behind the fake Arduino
 * headers. What a test watches is logged on stdout, one line per event,
 * next to the sketch's own Serial output.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "Adafruit_SSD1306.h"
#include "Arduino.h"
#include "BLEDevice.h"
#include "ESPmDNS.h"
#include "PubSubClient.h"
#include "WiFi.h"
#include "Wire.h"
extern "C" {   /* the IDF fakes are C without C++ guards (IDF's own have them) */
#include "esp_event.h"
#include "esp_system.h"
#include "mdns.h"
}

HardwareSerial Serial;
EspClass ESP;
WiFiClass WiFi;
MDNSResponder MDNS;
TwoWire Wire;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const uint64_t boot_ms = now_ms();

unsigned long millis(void) { return (unsigned long)(now_ms() - boot_ms); }

void delay(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void yield(void) {}

void EspClass::restart() { esp_restart(); }

String IPAddress::toString() const
{
    char s[16];
    snprintf(s, sizeof s, "%u.%u.%u.%u", b_[0], b_[1], b_[2], b_[3]);
    return String(s);
}

size_t Print::printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return 0;
    return write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void HardwareSerial::begin(unsigned long) { setvbuf(stdout, NULL, _IONBF, 0); }

size_t HardwareSerial::write(const char *s, size_t n) { return fwrite(s, 1, n, stdout); }

void WiFiClass::mode(int) { esp_event_loop_create_default(); }

void WiFiClass::macAddress(uint8_t mac[6])
{
    static const uint8_t fixed[6] = {0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56};
    memcpy(mac, fixed, 6);
}

bool MDNSResponder::begin(const char *hostname)
{
    return mdns_init() == ESP_OK && mdns_hostname_set(hostname) == ESP_OK;
}

void MDNSResponder::end() { mdns_free(); }

/* ---- BLE -------------------------------------------------------------- */

static BLEScan the_scan;

void BLEDevice::init(const char *name) { printf("ble: init %s\n", name); }

BLEScan *BLEDevice::getScan() { return &the_scan; }

bool BLEScan::start(uint32_t duration, void (*done)(BLEScanResults), bool)
{
    scanning_ = true;
    done_ = done;
    until_ = millis() + duration * 1000u;
    printf("ble: scan start\n");
    if (cb_ != nullptr)   /* one advertiser per scan */
        cb_->onResult(BLEAdvertisedDevice());
    return true;
}

bool BLEScan::stop()
{
    if (scanning_)
        printf("ble: scan stop\n");
    scanning_ = false;
    return true;
}

bool BLEScan::isScanning()
{
    if (scanning_ && (long)(millis() - until_) >= 0) {
        scanning_ = false;
        if (done_ != nullptr)
            done_(BLEScanResults());
    }
    return scanning_;
}

/* ---- MQTT ------------------------------------------------------------- */

PubSubClient &PubSubClient::setServer(const char *, uint16_t) { return *this; }

bool PubSubClient::connect(const char *id)
{
    const char *to = getenv("ALOFT_TEST_MQTT");
    char host[64];
    unsigned port;
    if (to == NULL || sscanf(to, "%63[^:]:%u", host, &port) != 2)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return false;
    disconnect();
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0 || ::connect(fd_, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = -1;
        return false;
    }
    printf("mqtt: connected as %s\n", id);
    return true;
}

void PubSubClient::disconnect()
{
    if (fd_ < 0)
        return;
    close(fd_);
    fd_ = -1;
    printf("mqtt: disconnect\n");
}

bool PubSubClient::connected()
{
    if (fd_ < 0)
        return false;
    struct pollfd p = {fd_, POLLIN, 0};
    char c;
    if (poll(&p, 1, 0) > 0 && recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
        close(fd_);
        fd_ = -1;
        printf("mqtt: broker closed the connection\n");
        return false;
    }
    return true;
}

bool PubSubClient::publish(const char *topic, const char *payload)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s %s\n", topic, payload);
    return connected() && n > 0 && send(fd_, line, (size_t)n, MSG_NOSIGNAL) == n;
}

/* ---- display ---------------------------------------------------------- */

void Adafruit_SSD1306::display()
{
    ::printf("display: %s\n", text_.c_str());   /* ::, not the inherited Print::printf */
}
