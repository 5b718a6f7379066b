/*
 * host/fleet/fleet_json.c — FLEET.md's objects with cJSON; see
 * fleet_json.h.
 */
#include "fleet_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

static void copy_str(const cJSON *o, const char *key, char *out, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

int fleet_json_device(const char *p, size_t n, fleet_seen_t *s)
{
    cJSON *o = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    copy_str(o, "chip", s->chip, sizeof s->chip);
    copy_str(o, "project", s->project, sizeof s->project);
    copy_str(o, "version", s->version, sizeof s->version);
    char running[16];
    copy_str(o, "running_slot", running, sizeof running);
    size_t len = 0;
    s->slots[0] = '\0';
    const cJSON *slot;
    cJSON_ArrayForEach(slot, cJSON_GetObjectItemCaseSensitive(o, "slots"))
    {
        char label[16], state[20], version[33];
        copy_str(slot, "label", label, sizeof label);
        copy_str(slot, "state", state, sizeof state);
        copy_str(slot, "version", version, sizeof version);
        int w = snprintf(s->slots + len, sizeof s->slots - len, "%s%s %s%s%s%s",
                         len ? ", " : "", label, state, version[0] ? " " : "", version,
                         strcmp(label, running) == 0 ? "*" : "");
        if (w < 0 || (size_t)w >= sizeof s->slots - len)
            break;
        len += (size_t)w;
    }
    s->have_state = true;
    cJSON_Delete(o);
    return 0;
}

int fleet_json_progress(const char *p, size_t n, char id[FLEET_CMD_ID_MAX], fleet_phase_t *phase,
                        int *code, char *error, size_t error_cap)
{
    cJSON *o = cJSON_ParseWithLength(p, n);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    char ph[20];
    copy_str(o, "id", id, FLEET_CMD_ID_MAX);
    copy_str(o, "phase", ph, sizeof ph);
    *phase = fleet_phase_parse(ph);
    error[0] = '\0';
    *code = 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (cJSON_IsObject(e)) {
        char msg[128], hint[256];
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        *code = cJSON_IsNumber(c) ? c->valueint : 0;
        copy_str(e, "message", msg, sizeof msg);
        copy_str(e, "hint", hint, sizeof hint);
        snprintf(error, error_cap, "%s (code %d)%s%s", msg[0] ? msg : "failed", *code,
                 hint[0] ? ": " : "", hint);
    }
    cJSON_Delete(o);
    return 0;
}

static char *print_delete(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL) {
        fputs("aloft: out of memory\n", stderr);
        exit(1);
    }
    return s;
}

char *fleet_json_release(const fleet_release_t *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "project", r->project);
    cJSON_AddStringToObject(o, "version", r->version);
    cJSON_AddStringToObject(o, "chip", r->chip);
    cJSON_AddStringToObject(o, "url", r->url);
    cJSON_AddNumberToObject(o, "size", (double)r->size);
    cJSON_AddStringToObject(o, "sha256", r->sha256_hex);
    cJSON_AddBoolToObject(o, "signed", r->is_signed);
    if (r->summary)
        cJSON_AddStringToObject(o, "summary", r->summary);
    if (r->release_url)
        cJSON_AddStringToObject(o, "release_url", r->release_url);
    cJSON *patches = r->patches_json ? cJSON_Parse(r->patches_json) : NULL;
    if (cJSON_IsArray(patches) && cJSON_GetArraySize(patches) > 0)
        cJSON_AddItemToObject(o, "patches", patches);
    else
        cJSON_Delete(patches);
    return print_delete(o);
}

int fleet_json_release_names(const char *p, char project[33], char version[33], char chip[24])
{
    cJSON *o = cJSON_Parse(p);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    copy_str(o, "project", project, 33);
    copy_str(o, "version", version, 33);
    copy_str(o, "chip", chip, 24);
    cJSON_Delete(o);
    return project[0] && version[0] && chip[0] ? 0 : -1;
}

char *fleet_json_install(const char *id, const char *release_json)
{
    cJSON *rel = cJSON_Parse(release_json);
    if (!cJSON_IsObject(rel)) {
        cJSON_Delete(rel);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", "install");
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddItemToObject(o, "release", rel);
    return print_delete(o);
}
