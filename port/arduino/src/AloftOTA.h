/*
 * AloftOTA.h — aloft for arduino-esp32 3.x with ArduinoOTA's habits.
 *
 *   AloftOTA.setPassword("...");
 *   AloftOTA.onStart(...).onProgress(...).onEnd(...).onError(...);
 *   AloftOTA.onPause(...).onResume(...);      BLE scan, MQTT, sensors
 *   AloftOTA.begin();
 *   loop(): AloftOTA.handle();
 *
 * Over the ESP-IDF component's application API (aloft_esp.h): espota
 * (Arduino IDE, PlatformIO, espota.py) and aloft's native protocol
 * (`aloft upload`) on one port. What differs from ArduinoOTA:
 *
 * - A new image boots on probation (PENDING_VERIFY) and must be confirmed,
 *   or the bootloader goes back to the previous one at the next reset. This
 *   library stops arduino-esp32's initArduino() from confirming it before
 *   setup() (it defines verifyRollbackLater(); a sketch must not define it
 *   too). By default handle() confirms on its first call after begin() (in
 *   task mode begin() does): the image booted, set up Wi-Fi and serves
 *   updates. With setAutoConfirm(false) the sketch calls confirm() after its
 *   own health check, or reject() to go back.
 * - onPause/onResume: called only once an update was authenticated and
 *   accepted (a wrong password pauses nothing) and always paired: success,
 *   failure, timeout, end().
 * - onError(error, message): error is one of the five ArduinoOTA classes
 *   (same numbers as ota_error_t), message says what happened with the
 *   numbers and what to do; lastError() holds aloft's own code.
 *
 * Callbacks run in the caller of handle() (loop mode, the default) or in
 * aloft's FreeRTOS task (setTaskMode(true)). In loop mode handle() returns
 * at once when nothing is happening and, as ArduinoOTA's does, keeps serving
 * until an update that has started is over.
 */
#ifndef ALOFT_OTA_H
#define ALOFT_OTA_H

#include <Arduino.h>
#include <Update.h>     /* U_FLASH, U_SPIFFS for getCommand(), as ArduinoOTA */
#include <functional>

/* The core's headers are C without C++ guards: declared here with C
 * linkage first (their include guards keep it), then the app API. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
extern "C" {
#include "aloft/error.h"
#include "aloft/wire/native.h"
}
#include "aloft_esp.h"

/* ArduinoOTA's ota_error_t classes, same order and numbers; how aloft's
 * errors fall into them is in README.md ("Errors"). */
typedef enum {
    ALOFT_OTA_AUTH_ERROR,     /* kept for ArduinoOTA's sketches: a failed login calls nothing */
    ALOFT_OTA_BEGIN_ERROR,    /* refused before anything was written: too large, busy, ... */
    ALOFT_OTA_CONNECT_ERROR,  /* espota: could not connect back to the uploader */
    ALOFT_OTA_RECEIVE_ERROR,  /* the transfer stalled, broke off or was garbled */
    ALOFT_OTA_END_ERROR       /* the image failed its checks; nothing was activated */
} aloft_ota_error_t;

class AloftOTAClass {
public:
    typedef std::function<void(void)> THandlerFunction;
    typedef std::function<void(aloft_ota_error_t, const char *)> THandlerFunction_Error;
    typedef std::function<void(unsigned int, unsigned int)> THandlerFunction_Progress;

    /* Setters take effect at begin(); strings are copied unless said otherwise. */
    AloftOTAClass &setPort(uint16_t port);                 /* default 3232 */
    AloftOTAClass &setHostname(const char *hostname);      /* default esp32-<MAC> */
    String getHostname();
    /* The password of both protocols. A protocol left without one makes
     * begin() refuse: an open device takes firmware from anyone on the
     * network; setOpen(true) is the explicit way to want that. */
    AloftOTAClass &setPassword(const char *password);
    /* espota's own password (its MD5 login can be cracked offline from a
     * recorded upload, so give it one you do not use elsewhere). */
    AloftOTAClass &setEspotaPassword(const char *password);
    /* The native login by verifier (ITERATIONS:SALT:STORED_KEY:SERVER_KEY,
     * as `aloft verifier` prints it) instead of the password, so the firmware does not hold
     * it (kept by pointer). */
    AloftOTAClass &setNativeVerifier(const char *hex);
    AloftOTAClass &setOpen(bool open);
    /* Announce the device on mDNS (default true): HOSTNAME.local,
     * _arduino._tcp so the Arduino IDE and PlatformIO list it, as ArduinoOTA
     * does, and _aloft._tcp with what `aloft discover` shows (chip, project,
     * version, password, signatures). Through the mdns component, as
     * ESPmDNS: a sketch that calls MDNS.begin() before begin() keeps its
     * host name; after, MDNS.addService() adds to the same responder. */
    AloftOTAClass &setMdnsEnabled(bool enabled);
    /* Serve the device's web page (docs/PROTOCOL.md section 4: upload from a
     * browser, rollback, confirm; same password, login without sending it)
     * on this TCP port with esp_http_server; 0 (the default) = no page.
     * Usually 80, unless the sketch runs a web server there. */
    AloftOTAClass &setWebPort(uint16_t port);
    /* Idle timeout of a transfer (default 10 s; ArduinoOTA's is 1 s). */
    AloftOTAClass &setTimeout(int timeoutInMillis);
    /* Accept only images signed by one of these keys: the base64 line of
     * each `aloft keygen` NAME.pub, separated by spaces or commas, at most 4
     * (kept by pointer and parsed at begin(); a key that does not parse
     * makes begin() fail). */
    AloftOTAClass &setSigningKeys(const char *keys);
    AloftOTAClass &setAutoConfirm(bool on);                /* default true */
    /* Serve from aloft's own task; 0 / -1 = the defaults. */
    AloftOTAClass &setTaskMode(bool on, uint32_t stackBytes = 0, uint8_t priority = 0,
                               int8_t core = -1);

    AloftOTAClass &onStart(THandlerFunction fn);
    AloftOTAClass &onEnd(THandlerFunction fn);             /* then the device restarts */
    AloftOTAClass &onError(THandlerFunction_Error fn);
    AloftOTAClass &onProgress(THandlerFunction_Progress fn);
    AloftOTAClass &onPause(THandlerFunction fn);
    AloftOTAClass &onResume(THandlerFunction fn);

    /* Start serving (Wi-Fi must be up). False when aloft could not start:
     * lastError() and lastErrorMessage() say why (no second app slot,
     * no password, port taken). */
    bool begin();
    void end();
    void handle();

    /* U_FLASH or U_SPIFFS: what the update in progress writes. */
    int getCommand();

    /* The health check passed: keep this image. True when it is kept. */
    bool confirm();
    /* Mark this image bad and restart into the previous one; returns (false)
     * only when there is none to go back to. */
    bool reject();

    bool isUpdating();          /* an update is being received */
    bool isPendingVerify();     /* this image runs on probation */
    bool rolledBack();          /* this boot fell back from an unconfirmed image */
    String runningVersion();    /* app version of the running image */
    int lastError();            /* aloft_err_t of the last failure, 0 if none */
    String lastErrorMessage();  /* with the numbers and a hint */
    bool status(aloft_status_t &st);

private:
    static void onEvent(void *ctx, const aloft_esp_event_t *ev);
    static void pauseHook(void *ctx);
    static void resumeHook(void *ctx);
    void fail(int err);
    void keep(char *dst, size_t n, const char *src, const char *what);
    void autoConfirm();

    uint16_t _port = 0;
    char _hostname[ALOFT_NATIVE_STR_MAX + 1] = "";
    char _password[65] = "";
    char _espotaPassword[65] = "";
    const char *_verifier = nullptr;
    bool _open = false;
    bool _mdns = true;
    uint16_t _webPort = 0;
    uint32_t _timeoutMs = 0;
    const char *_signingKeys = nullptr;
    bool _autoConfirm = true;
    bool _task = false;
    uint32_t _taskStack = 0;
    uint8_t _taskPriority = 0;
    int8_t _taskCore = -1;

    const char *_tooLong = nullptr;   /* a setter's string did not fit: begin() says which */
    bool _serving = false;
    bool _hooksAdded = false;
    bool _confirmChecked = false;
    volatile bool _updating = false;
    int _cmd = U_FLASH;
    int _lastError = 0;
    char _lastMessage[192] = "";

    THandlerFunction _startCb, _endCb, _pauseCb, _resumeCb;
    THandlerFunction_Error _errorCb;
    THandlerFunction_Progress _progressCb;
};

#if !defined(NO_GLOBAL_INSTANCES) && !defined(NO_GLOBAL_ALOFTOTA)
extern AloftOTAClass AloftOTA;
#endif

#endif /* ALOFT_OTA_H */
