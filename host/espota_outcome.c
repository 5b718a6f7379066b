/*
 * host/espota_outcome.c — how an espota upload ended, in words: the
 * engine's result (aloft/espota_host.h) becomes a message and a hint that
 * name what was tried (address, port, seconds, bytes) and what the user
 * can change; the device's own texts are translated by espota_reply.c.
 */
#include <stdio.h>
#include <string.h>

#include "espota_host_priv.h"

static int no_answer(espota_session_t *s)
{
    const espota_upload_t *u = s->u;
    unsigned tries = u->tries ? u->tries : ALOFT_ESPOTA_HOST_TRIES;
    uint32_t ms = u->invite_timeout_ms ? u->invite_timeout_ms : ALOFT_ESPOTA_HOST_TIMEOUT_MS;
    if (s->port_refused)
        return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                              "%s is reachable but nothing listens on UDP port %u; check the "
                              "port (ESP32 uses 3232, ESP8266 8266, unless the firmware calls "
                              "ArduinoOTA.setPort) and that the firmware calls "
                              "ArduinoOTA.begin() once Wi-Fi is up", s->host, (unsigned)s->port);
    if (s->send_errno)
        return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                              "invitations to %s (UDP) could not be sent: %s; check the "
                              "address and this computer's network connection",
                              s->r->device_addr, host_sock_strerror(s->send_errno));
    return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                          "sent %u invitation%s to %s (UDP) and got no reply within %u s each; "
                          "check that the device is powered and on this network, that its "
                          "firmware calls ArduinoOTA.handle() often (a loop() that blocks "
                          "never answers), and the port (ESP32 3232, ESP8266 8266)",
                          tries, tries == 1 ? "" : "s", s->r->device_addr,
                          (unsigned)((ms + 999) / 1000));
}

static int no_connect_back(espota_session_t *s)
{
    char ip[64], size[32];
    const char *colon;
    snprintf(ip, sizeof ip, "%s", s->r->connect_back);
    if ((colon = strrchr(ip, ':')) != NULL)
        ip[colon - ip] = '\0';
    host_grouped(s->u->size, size);
    return host_error_set(
        &s->r->error, ALOFT_ERR_CONNECT, "device did not connect back",
        "it accepted the upload but did not open a TCP connection to %s within %u s; usually a "
        "firewall on this computer blocks incoming connections (or the device is on another "
        "subnet or VPN and cannot reach %s): pick a port with %s N and allow incoming TCP on "
        "it%s. A stock ESP32 also stays silent here when the image (%s bytes) does not fit its "
        "OTA partition", s->r->connect_back, (unsigned)(s->engine.cfg.timeout_ms / 1000), ip,
        s->u->host_port_flag ? s->u->host_port_flag : "--host-port", HOST_FIREWALL_HOW, size);
}

/* The data phase ended without "OK" after every byte. */
static int data_failure(espota_session_t *s, const aloft_espota_host_result_t *res)
{
    host_error_t *e = &s->r->error;
    unsigned secs = (unsigned)(s->engine.cfg.timeout_ms / 1000);
    char done[32], total[32];
    host_grouped(res->confirmed, done);
    host_grouped(s->u->size, total);
    switch (res->why) {
    case ALOFT_ESPOTA_HOST_WHY_EARLY_OK:
        return host_error_set(e, ALOFT_ERR_PROTO, "the device said OK too early",
                              "it confirmed the update after %s of %s bytes; its firmware "
                              "does not follow the protocol", host_grouped(res->sent, done),
                              total);
    case ALOFT_ESPOTA_HOST_WHY_DEVICE_ERROR:
        return espota_explain_result(e, res->text, &s->ctx);
    case ALOFT_ESPOTA_HOST_WHY_SILENT:
        if (res->sent == s->u->size)
            return host_error_set(e, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                                  "all %s bytes were sent but no result came within %u s; the "
                                  "update was probably not applied; check the device's serial "
                                  "log", total, secs);
        return host_error_set(e, ALOFT_ERR_TIMEOUT, "the device stopped responding",
                              "nothing for %u s after about %s of %s bytes; check the Wi-Fi "
                              "signal and try again (the device keeps its running firmware)",
                              secs, done, total);
    default:
        break;
    }
    if (res->confirmed < s->u->size)   /* it did not confirm everything */
        return host_error_set(e, ALOFT_ERR_CLOSED, "the device closed the connection early",
                              "it stopped after about %s of %s bytes without saying why; stock "
                              "ArduinoOTA does that when a flash write fails (e.g. the file is "
                              "not an app image for this chip) or when the data stalls for a "
                              "second; check the device's serial log and try again", done, total);
    return host_error_set(e, ALOFT_ERR_CLOSED,
                          "the device closed the connection without confirming",
                          "all %s bytes were sent but it never said OK, so the update was "
                          "probably not applied; check its serial log", total);
}

int espota_outcome(espota_session_t *s)
{
    const aloft_espota_host_result_t *res = aloft_espota_host_result(&s->engine);
    host_error_t *e = &s->r->error;
    s->r->auth = res->auth;
    s->r->md5_secret = res->md5_secret;
    snprintf(s->r->device_text, sizeof s->r->device_text, "%s", res->text);
    if (res->text[0])
        espota_emit(s, ESPOTA_EV_DEVICE_SAID, res->text);
    switch (res->why) {
    case ALOFT_ESPOTA_HOST_WHY_OK:
        return ALOFT_OK;
    case ALOFT_ESPOTA_HOST_WHY_NO_ANSWER:
        return no_answer(s);
    case ALOFT_ESPOTA_HOST_WHY_BAD_ANSWER:
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected answer from the device",
                              "it said \"%s\", which is not ArduinoOTA's; is another program "
                              "using UDP port %u on %s?", res->text, (unsigned)s->port, s->host);
    case ALOFT_ESPOTA_HOST_WHY_REFUSED:
        return espota_explain_refusal(e, res->text, strlen(res->text), &s->ctx);
    case ALOFT_ESPOTA_HOST_WHY_BAD_NONCE:
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected answer from the device",
                              "its challenge has %u characters, expected 32 (MD5 login) or 64 "
                              "(PBKDF2 login, ESP32 core 3.3.1 and later)",
                              (unsigned)res->nonce_len);
    case ALOFT_ESPOTA_HOST_WHY_NO_PASSWORD:
        return host_error_set(e, ALOFT_ERR_AUTH, "the device asks for a password",
                              "pass the OTA password (the one its firmware sets with "
                              "ArduinoOTA.setPassword) with --auth PASSWORD");
    case ALOFT_ESPOTA_HOST_WHY_AUTH_FAILED:
        return host_error_set(e, ALOFT_ERR_AUTH, "authentication failed",
                              "the device rejected the password%s; use the one its firmware "
                              "sets with ArduinoOTA.setPassword()", res->retried_md5
                              ? " (tried as SHA-256 and as MD5 secret)" : "");
    case ALOFT_ESPOTA_HOST_WHY_AUTH_SILENT:
        return host_error_set(e, ALOFT_ERR_TIMEOUT, "no answer to our authentication",
                              "the device sent its challenge but did not answer our response "
                              "(sent every %u ms) within %u s; it may have restarted, or another "
                              "upload interrupted it; try again",
                              (unsigned)s->engine.cfg.auth_resend_ms,
                              (unsigned)(s->engine.cfg.timeout_ms / 1000));
    case ALOFT_ESPOTA_HOST_WHY_NO_CONNECT:
        return no_connect_back(s);
    case ALOFT_ESPOTA_HOST_WHY_LOCAL:
        return host_error_set(e, res->err, "the upload could not go on",
                              "%s (computing the login response or reading the image)",
                              aloft_strerror(res->err));
    default:
        return data_failure(s, res);
    }
}
