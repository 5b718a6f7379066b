/*
 * host/fleet/fleet_store.c — rollouts in SQLite; see fleet_store.h.
 */
#include "fleet_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

struct fleet_store {
    sqlite3 *db;
    char path[256];
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS rollout("
    " id INTEGER PRIMARY KEY, project TEXT NOT NULL, version TEXT NOT NULL,"
    " release TEXT NOT NULL, state INTEGER NOT NULL, reason INTEGER NOT NULL,"
    " wave INTEGER NOT NULL, canary INTEGER NOT NULL, waves TEXT NOT NULL,"
    " success_pct INTEGER NOT NULL, fail_pct INTEGER NOT NULL, fail_min INTEGER NOT NULL,"
    " fail_abort INTEGER NOT NULL, timeout_s INTEGER NOT NULL, retries INTEGER NOT NULL,"
    " queue_offline INTEGER NOT NULL, request TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS device("
    " rollout INTEGER NOT NULL REFERENCES rollout(id), name TEXT NOT NULL,"
    " seq INTEGER NOT NULL, wave INTEGER NOT NULL, state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, sent_ms INTEGER NOT NULL, error TEXT NOT NULL,"
    " PRIMARY KEY(rollout, name));";

static int db_fail(fleet_store_t *st, host_error_t *e, const char *what)
{
    return host_error_set(e, ALOFT_ERR_IO, "rollout database error",
                          "%s %s: %s (is the file writable, and not on a network share?)",
                          what, st->path, sqlite3_errmsg(st->db));
}

static int exec(fleet_store_t *st, const char *sql, host_error_t *e)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot update");
    return 0;
}

int fleet_store_open(const char *path, fleet_store_t **out, host_error_t *e)
{
    fleet_store_t *st = xmalloc(sizeof *st);
    memset(st, 0, sizeof *st);
    snprintf(st->path, sizeof st->path, "%s", path);
    if (sqlite3_open(path, &st->db) != SQLITE_OK) {
        int r = db_fail(st, e, "cannot open");
        fleet_store_close(st);
        return r;
    }
    sqlite3_busy_timeout(st->db, 10000);
    if (sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        int r = host_error_set(e, ALOFT_ERR_IO, "not a rollout database",
                               "%s: %s; give --db a new file or one aloft fleet made", path,
                               sqlite3_errmsg(st->db));
        fleet_store_close(st);
        return r;
    }
    *out = st;
    return 0;
}

void fleet_store_close(fleet_store_t *st)
{
    if (st == NULL)
        return;
    sqlite3_close(st->db);
    free(st);
}

static sqlite3_stmt *prep(fleet_store_t *st, const char *sql, host_error_t *e)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_fail(st, e, "cannot read");
        return NULL;
    }
    return s;
}

/* Run a statement that returns no rows, then finalize it. */
static int run(fleet_store_t *st, sqlite3_stmt *s, host_error_t *e)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot update");
}

static void waves_text(const fleet_plan_t *p, char out[64])
{
    size_t n = 0;
    out[0] = '\0';
    for (uint8_t k = 0; k < p->npct; k++)
        n += (size_t)snprintf(out + n, 64 - n, "%s%u", k ? "," : "", p->pct[k]);
}

static void waves_parse(const char *s, fleet_plan_t *p)
{
    p->npct = 0;
    while (s && *s && p->npct < FLEET_MAX_WAVES) {
        char *end;
        p->pct[p->npct++] = (uint8_t)strtoul(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
}

static int save_dev(fleet_store_t *st, int64_t id, const fleet_dev_t *d, long seq, bool insert,
                    host_error_t *e)
{
    sqlite3_stmt *s = prep(st,
                           insert ? "INSERT INTO device(rollout,name,seq,wave,state,attempts,"
                                    "sent_ms,error) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
                                  : "UPDATE device SET wave=?4,state=?5,attempts=?6,sent_ms=?7,"
                                    "error=?8 WHERE rollout=?1 AND name=?2",
                           e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, seq);
    sqlite3_bind_int(s, 4, d->wave);
    sqlite3_bind_int(s, 5, d->state);
    sqlite3_bind_int(s, 6, d->attempts);
    sqlite3_bind_int64(s, 7, d->sent_ms);
    sqlite3_bind_text(s, 8, d->error, -1, SQLITE_STATIC);
    return run(st, s, e);
}

static int save_rollout_row(fleet_store_t *st, const fleet_rollout_t *r, int64_t now_ms,
                            host_error_t *e)
{
    sqlite3_stmt *s = prep(st, "UPDATE rollout SET state=?2,reason=?3,wave=?4,updated_ms=?5 "
                               "WHERE id=?1", e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int(s, 2, r->state);
    sqlite3_bind_int(s, 3, r->reason);
    sqlite3_bind_int(s, 4, r->wave);
    sqlite3_bind_int64(s, 5, now_ms);
    return run(st, s, e);
}

static void clear_dirty(fleet_rollout_t *r)
{
    r->dirty = false;
    for (size_t i = 0; i < r->ndevs; i++)
        r->devs[i].dirty = false;
}

static int end_tx(fleet_store_t *st, int rc, host_error_t *e)
{
    if (rc != 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(st, "COMMIT", e);
}

int fleet_store_create(fleet_store_t *st, fleet_rollout_t *r, const fleet_meta_t *m,
                       host_error_t *e)
{
    char waves[64];
    int rc = exec(st, "BEGIN IMMEDIATE", e);
    if (rc != 0)
        return rc;
    sqlite3_stmt *s = prep(st,
                           "INSERT INTO rollout(project,version,release,state,reason,wave,canary,"
                           "waves,success_pct,fail_pct,fail_min,fail_abort,timeout_s,retries,"
                           "queue_offline,created_ms,updated_ms) "
                           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?16)",
                           e);
    if (s == NULL)
        return end_tx(st, ALOFT_ERR_IO, e);
    const fleet_plan_t *p = &r->plan;
    waves_text(p, waves);
    sqlite3_bind_text(s, 1, m->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, m->version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, m->release_json, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->state);
    sqlite3_bind_int(s, 5, r->reason);
    sqlite3_bind_int(s, 6, r->wave);
    sqlite3_bind_int64(s, 7, p->canary);
    sqlite3_bind_text(s, 8, waves, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 9, p->success_pct);
    sqlite3_bind_int(s, 10, p->fail_pct);
    sqlite3_bind_int64(s, 11, p->fail_min);
    sqlite3_bind_int(s, 12, p->fail_abort);
    sqlite3_bind_int64(s, 13, p->timeout_s);
    sqlite3_bind_int64(s, 14, p->retries);
    sqlite3_bind_int(s, 15, p->queue_offline);
    sqlite3_bind_int64(s, 16, m->created_ms);
    rc = run(st, s, e);
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(st->db);
    for (size_t i = 0; rc == 0 && i < r->ndevs; i++)
        rc = save_dev(st, r->id, &r->devs[i], (long)i, true, e);
    rc = end_tx(st, rc, e);
    if (rc == 0)
        clear_dirty(r);
    return rc;
}

int fleet_store_latest(fleet_store_t *st, int64_t *id, host_error_t *e)
{
    sqlite3_stmt *s = prep(st, "SELECT COALESCE(MAX(id),0) FROM rollout", e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    *id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return 0;
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int fleet_store_load(fleet_store_t *st, int64_t id, fleet_rollout_t *r, fleet_meta_t *m,
                     host_error_t *e)
{
    memset(r, 0, sizeof *r);
    memset(m, 0, sizeof *m);
    sqlite3_stmt *s = prep(st,
                           "SELECT project,version,release,state,reason,wave,canary,waves,"
                           "success_pct,fail_pct,fail_min,fail_abort,timeout_s,retries,"
                           "queue_offline,request,created_ms,updated_ms FROM rollout WHERE id=?1",
                           e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return host_error_set(e, ALOFT_ERR_ARG, "no such rollout",
                              "%s holds no rollout %lld; 'aloft fleet status --db %s' lists "
                              "the newest", st->path, (long long)id, st->path);
    }
    r->id = id;
    copy_col(s, 0, m->project, sizeof m->project);
    copy_col(s, 1, m->version, sizeof m->version);
    const unsigned char *rel = sqlite3_column_text(s, 2);
    m->release_json = xmalloc(strlen((const char *)rel) + 1);
    strcpy(m->release_json, (const char *)rel);
    r->state = (uint8_t)sqlite3_column_int(s, 3);
    r->reason = (uint8_t)sqlite3_column_int(s, 4);
    r->wave = (uint16_t)sqlite3_column_int(s, 5);
    fleet_plan_t *p = &r->plan;
    p->canary = (uint32_t)sqlite3_column_int64(s, 6);
    waves_parse((const char *)sqlite3_column_text(s, 7), p);
    p->success_pct = (uint8_t)sqlite3_column_int(s, 8);
    p->fail_pct = (uint8_t)sqlite3_column_int(s, 9);
    p->fail_min = (uint32_t)sqlite3_column_int64(s, 10);
    p->fail_abort = sqlite3_column_int(s, 11) != 0;
    p->timeout_s = (uint32_t)sqlite3_column_int64(s, 12);
    p->retries = (uint32_t)sqlite3_column_int64(s, 13);
    p->queue_offline = sqlite3_column_int(s, 14) != 0;
    copy_col(s, 15, m->request, sizeof m->request);
    m->created_ms = sqlite3_column_int64(s, 16);
    m->updated_ms = sqlite3_column_int64(s, 17);
    sqlite3_finalize(s);

    s = prep(st, "SELECT name,wave,state,attempts,sent_ms,error FROM device WHERE rollout=?1 "
                 "ORDER BY seq", e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    size_t cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (r->ndevs == cap) {
            cap = cap ? cap * 2 : 64;
            r->devs = xrealloc(r->devs, cap * sizeof *r->devs);
        }
        fleet_dev_t *d = &r->devs[r->ndevs++];
        memset(d, 0, sizeof *d);
        copy_col(s, 0, d->name, sizeof d->name);
        d->wave = (uint16_t)sqlite3_column_int(s, 1);
        d->state = (uint8_t)sqlite3_column_int(s, 2);
        d->attempts = (uint8_t)sqlite3_column_int(s, 3);
        d->sent_ms = sqlite3_column_int64(s, 4);
        copy_col(s, 5, d->error, sizeof d->error);
    }
    sqlite3_finalize(s);
    return 0;
}

int fleet_store_save(fleet_store_t *st, fleet_rollout_t *r, int64_t now_ms, host_error_t *e)
{
    bool any = r->dirty;
    for (size_t i = 0; !any && i < r->ndevs; i++)
        any = r->devs[i].dirty;
    if (!any)
        return 0;
    int rc = exec(st, "BEGIN IMMEDIATE", e);
    if (rc != 0)
        return rc;
    rc = save_rollout_row(st, r, now_ms, e);
    for (size_t i = 0; rc == 0 && i < r->ndevs; i++)
        if (r->devs[i].dirty)
            rc = save_dev(st, r->id, &r->devs[i], (long)i, false, e);
    rc = end_tx(st, rc, e);
    if (rc == 0)
        clear_dirty(r);
    return rc;
}

int fleet_store_request(fleet_store_t *st, int64_t id, const char *req, host_error_t *e)
{
    sqlite3_stmt *s = prep(st, "UPDATE rollout SET request=?2 WHERE id=?1", e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, req, -1, SQLITE_STATIC);
    return run(st, s, e);
}

int fleet_store_take_request(fleet_store_t *st, int64_t id, char out[16], host_error_t *e)
{
    out[0] = '\0';
    sqlite3_stmt *s = prep(st, "SELECT request FROM rollout WHERE id=?1", e);
    if (s == NULL)
        return ALOFT_ERR_IO;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW)
        copy_col(s, 0, out, 16);
    sqlite3_finalize(s);
    return out[0] ? fleet_store_request(st, id, "", e) : 0;
}
