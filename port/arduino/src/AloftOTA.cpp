/*
 * AloftOTA.cpp — the AloftOTA object over aloft_esp.h (see AloftOTA.h).
 *
 * One aloft instance per firmware, so one AloftOTA: the component's event
 * callback and quiesce hooks come back here through ctx.
 */
#include "AloftOTA.h"

#include <WiFi.h>
#include <stdio.h>
#include <string.h>

#include "sdkconfig.h"   /* CONFIG_MDNS_MAX_INTERFACES: the mdns component is built in */

/* arduino-esp32 3.x (cores/esp32/esp32-hal-misc.c, with the prebuilt
 * sdkconfig's CONFIG_APP_ROLLBACK_ENABLE): initArduino() marks a
 * PENDING_VERIFY image valid before setup() unless a strong
 * verifyRollbackLater() returns true; the image would then be kept before
 * any health check could run. Defined here, in the file that also defines
 * the AloftOTA object, so every sketch using AloftOTA links it (PlatformIO
 * links libraries from archives, taking only the members something uses). */
extern "C" bool verifyRollbackLater(void)
{
    return true;
}

/* aloft_err_t -> the ArduinoOTA class a sketch already handles. By when
 * ArduinoOTA would have failed: before Update.begin (refusals), on the
 * connect-back, while receiving, at Update.end (the image's checks). */
static aloft_ota_error_t classify(int err)
{
    switch (err) {
    case ALOFT_ERR_AUTH: case ALOFT_ERR_RATE: case ALOFT_ERR_LOGIN_BUDGET:
    case ALOFT_ERR_CROWDED:
        return ALOFT_OTA_AUTH_ERROR;
    case ALOFT_ERR_ARG: case ALOFT_ERR_STATE: case ALOFT_ERR_BUSY: case ALOFT_ERR_SIZE:
    case ALOFT_ERR_TOO_LARGE: case ALOFT_ERR_PENDING: case ALOFT_ERR_SAME_SLOT:
    case ALOFT_ERR_NO_SLOT: case ALOFT_ERR_NO_OTADATA:
        return ALOFT_OTA_BEGIN_ERROR;
    case ALOFT_ERR_CONNECT:
        return ALOFT_OTA_CONNECT_ERROR;
    case ALOFT_ERR_TIMEOUT: case ALOFT_ERR_CLOSED: case ALOFT_ERR_PROTO: case ALOFT_ERR_SHORT:
    case ALOFT_ERR_OVERFLOW: case ALOFT_ERR_DECODE: case ALOFT_ERR_INTEGRITY:
    case ALOFT_ERR_ABORTED:
        return ALOFT_OTA_RECEIVE_ERROR;
    default:   /* image format, hashes, signatures, flash */
        return ALOFT_OTA_END_ERROR;
    }
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* A setter's copy; one cut short would fail the login later, so begin()
 * refuses instead. */
void AloftOTAClass::keep(char *dst, size_t n, const char *src, const char *what)
{
    if (src != nullptr && strlen(src) >= n)
        _tooLong = what;
    else if (_tooLong == what)
        _tooLong = nullptr;
    copy(dst, n, src);
}

AloftOTAClass &AloftOTAClass::setPort(uint16_t port) { _port = port; return *this; }
AloftOTAClass &AloftOTAClass::setHostname(const char *hostname)
{
    keep(_hostname, sizeof _hostname, hostname, "the hostname is longer than 32 characters");
    return *this;
}
String AloftOTAClass::getHostname() { return String(_hostname); }
AloftOTAClass &AloftOTAClass::setPassword(const char *password)
{
    keep(_password, sizeof _password, password, "the password is longer than 64 characters");
    return *this;
}
AloftOTAClass &AloftOTAClass::setEspotaPassword(const char *password)
{
    keep(_espotaPassword, sizeof _espotaPassword, password,
         "the espota password is longer than 64 characters");
    return *this;
}
AloftOTAClass &AloftOTAClass::setNativeVerifier(const char *hex) { _verifier = hex; return *this; }
AloftOTAClass &AloftOTAClass::setOpen(bool open) { _open = open; return *this; }
AloftOTAClass &AloftOTAClass::setMdnsEnabled(bool enabled) { _mdns = enabled; return *this; }
AloftOTAClass &AloftOTAClass::setWebPort(uint16_t port) { _webPort = port; return *this; }
AloftOTAClass &AloftOTAClass::setTimeout(int ms)
{
    _timeoutMs = ms > 0 ? (uint32_t)ms : 0;
    return *this;
}
AloftOTAClass &AloftOTAClass::setSigningKeys(const char *keys)
{
    _signingKeys = keys;
    return *this;
}
AloftOTAClass &AloftOTAClass::setAutoConfirm(bool on) { _autoConfirm = on; return *this; }
AloftOTAClass &AloftOTAClass::setTaskMode(bool on, uint32_t stack, uint8_t priority, int8_t core)
{
    _task = on;
    _taskStack = stack;
    _taskPriority = priority;
    _taskCore = core;
    return *this;
}

AloftOTAClass &AloftOTAClass::onStart(THandlerFunction fn) { _startCb = fn; return *this; }
AloftOTAClass &AloftOTAClass::onEnd(THandlerFunction fn) { _endCb = fn; return *this; }
AloftOTAClass &AloftOTAClass::onError(THandlerFunction_Error fn) { _errorCb = fn; return *this; }
AloftOTAClass &AloftOTAClass::onProgress(THandlerFunction_Progress fn)
{
    _progressCb = fn;
    return *this;
}
AloftOTAClass &AloftOTAClass::onPause(THandlerFunction fn) { _pauseCb = fn; return *this; }
AloftOTAClass &AloftOTAClass::onResume(THandlerFunction fn) { _resumeCb = fn; return *this; }

void AloftOTAClass::pauseHook(void *ctx)
{
    AloftOTAClass *o = static_cast<AloftOTAClass *>(ctx);
    if (o->_pauseCb)
        o->_pauseCb();
}

void AloftOTAClass::resumeHook(void *ctx)
{
    AloftOTAClass *o = static_cast<AloftOTAClass *>(ctx);
    if (o->_resumeCb)
        o->_resumeCb();
}

void AloftOTAClass::onEvent(void *ctx, const aloft_esp_event_t *ev)
{
    AloftOTAClass *o = static_cast<AloftOTAClass *>(ctx);
    switch (ev->kind) {
    case ALOFT_EV_START:
        o->_updating = true;
        o->_cmd = ev->fs ? U_SPIFFS : U_FLASH;
        if (o->_startCb)
            o->_startCb();
        if (o->_progressCb)
            o->_progressCb(0, ev->total);
        break;
    case ALOFT_EV_PROGRESS:
        if (o->_progressCb)
            o->_progressCb(ev->done, ev->total);
        break;
    case ALOFT_EV_END:
        o->_updating = false;
        o->_lastError = 0;
        o->_lastMessage[0] = '\0';
        if (o->_endCb)
            o->_endCb();
        break;
    case ALOFT_EV_ERROR:
        o->_updating = false;
        o->_lastError = ev->err;
        copy(o->_lastMessage, sizeof o->_lastMessage,
             ev->message ? ev->message : aloft_strerror(ev->err));
        if (o->_errorCb)
            o->_errorCb(classify(ev->err), o->_lastMessage);
        break;
    }
}

void AloftOTAClass::fail(int err)
{
    aloft_status_t st;
    _lastError = err;
    if (aloft_status(&st) == 0 && st.last_error == err && st.last_message[0])
        copy(_lastMessage, sizeof _lastMessage, st.last_message);
    else
        copy(_lastMessage, sizeof _lastMessage, aloft_strerror(err));
}

bool AloftOTAClass::begin()
{
    if (_serving)
        return true;
    if (_tooLong != nullptr) {
        _lastError = ALOFT_ERR_ARG;
        copy(_lastMessage, sizeof _lastMessage, _tooLong);
        return false;
    }
    if (!_hostname[0]) {   /* ArduinoOTA's default, so the IDE shows the same name */
        uint8_t mac[6];
        WiFi.macAddress(mac);
        snprintf(_hostname, sizeof _hostname, "esp32-%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
                 mac[2], mac[3], mac[4], mac[5]);
    }
    aloft_esp_config_t cfg;
    aloft_esp_config_default(&cfg);
    if (_port)
        cfg.port = _port;
    cfg.hostname = _hostname;
    if (_password[0])
        cfg.password = _password;
    if (_espotaPassword[0])
        cfg.espota_password = _espotaPassword;
    if (_verifier)
        cfg.native_verifier = _verifier;
    cfg.allow_open = _open;
    if (_timeoutMs)
        cfg.idle_timeout_ms = _timeoutMs;
    if (_signingKeys)
        cfg.signing_keys = _signingKeys;
    cfg.task = _task;
    if (_taskStack)
        cfg.task_stack = _taskStack;
    if (_taskPriority)
        cfg.task_priority = _taskPriority;
    if (_taskCore >= 0)
        cfg.task_core = _taskCore;
    cfg.on_event = onEvent;
    cfg.ctx = this;
    cfg.web_port = _webPort;
#ifdef CONFIG_MDNS_MAX_INTERFACES
    cfg.mdns = _mdns;   /* the component announces both services (esp_mdns.c) */
#else
    cfg.mdns = false;
#endif

    int err;
    if (!_hooksAdded) {   /* the component keeps hooks across stop/start */
        err = aloft_add_pause("sketch", pauseHook, resumeHook, this);
        if (err != 0) {
            fail(err);
            return false;
        }
        _hooksAdded = true;
    }
    err = aloft_start(&cfg);
    if (err != 0) {
        fail(err);
        return false;
    }
    _serving = true;
    aloft_status_t st;
    if (aloft_status(&st) == 0)
        _port = st.port;
    if (_task)
        autoConfirm();
    return true;
}

void AloftOTAClass::end()
{
    if (!_serving)
        return;
    aloft_stop();
    _serving = false;
    _updating = false;
}

/* Once, after begin(): keep a probation image that got this far, unless
 * the sketch confirms by itself. */
void AloftOTAClass::autoConfirm()
{
    if (_confirmChecked)
        return;
    _confirmChecked = true;
    if (_autoConfirm && isPendingVerify())
        confirm();
}

void AloftOTAClass::handle()
{
    if (!_serving || _task)
        return;
    autoConfirm();
    /* ArduinoOTA's habit: an update that has started is served to its end
     * (the event that clears _updating comes from inside aloft_handle). */
    int err = aloft_handle(0);
    while (err == 0 && _updating)
        err = aloft_handle(50);
    if (err != 0 && err != ALOFT_ERR_STATE)   /* STATE: a callback called end() */
        fail(err);                            /* the restart after an update failed */
}

int AloftOTAClass::getCommand() { return _cmd; }

bool AloftOTAClass::confirm()
{
    int err = aloft_confirm();
    if (err != 0)
        fail(err);
    return err == 0;
}

bool AloftOTAClass::reject()
{
    fail(aloft_reject());
    return false;
}

bool AloftOTAClass::status(aloft_status_t &st) { return aloft_status(&st) == 0; }

bool AloftOTAClass::isUpdating() { return _updating; }

bool AloftOTAClass::isPendingVerify()
{
    aloft_status_t st;
    return aloft_status(&st) == 0 && st.pending_verify;
}

bool AloftOTAClass::rolledBack()
{
    aloft_status_t st;
    return aloft_status(&st) == 0 && st.rolled_back;
}

String AloftOTAClass::runningVersion()
{
    aloft_status_t st;
    return aloft_status(&st) == 0 ? String(st.version) : String("");
}

int AloftOTAClass::lastError() { return _lastError; }

String AloftOTAClass::lastErrorMessage() { return String(_lastMessage); }

#if !defined(NO_GLOBAL_INSTANCES) && !defined(NO_GLOBAL_ALOFTOTA)
AloftOTAClass AloftOTA;
#endif
