#include "csaslshims.h"

#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <sasl/saslutil.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/*
 * Seeding Cyrus SASL's nonces from getrandom(2).
 *
 * Cyrus gives each sasl_conn_t its own random pool (utils->rpool) and
 * fills it lazily, by opening /dev/urandom by name the first time a
 * mechanism draws from it. Inside the lookup's chroot there is no
 * /dev/urandom and Cyrus silently falls back to the pid and the clock,
 * which makes CRAM-MD5 challenges and SCRAM server nonces guessable.
 *
 * So each server mechanism's mech_new (called by sasl_server_start before
 * the mechanism's first step, the first moment the connection's utils are
 * reachable) is wrapped: the wrapper seeds sparams->utils->rpool with
 * sasl_randseed from getrandom(2), which needs no file, then calls the
 * mechanism's own mech_new. A seeded pool is marked initialized, so Cyrus
 * never opens /dev/urandom for it. If getrandom fails the exchange fails:
 * never a weak nonce.
 *
 * The wrappers are patched into the mechanisms' sasl_server_plug_t
 * records (writable data of the plugin libraries, which Cyrus keeps for
 * the life of the process) once, right after sasl_server_init and before
 * any connection exists. Every record needs a wrapper of its own that
 * knows its original function, hence a fixed set of slots.
 */

typedef int (*postern_sasl_mech_new_t)(void *, sasl_server_params_t *, const char *, unsigned, void **);

#define POSTERN_SASL_SLOTS 32

typedef struct {
    postern_sasl_mech_new_t original[POSTERN_SASL_SLOTS];
    const sasl_server_plug_t *plug[POSTERN_SASL_SLOTS];
    int used;
} postern_sasl_slots_t;

/* The one slot table of the process, in this file only (see
   csaslshims.h): written by postern_sasl_seed_nonces, once, while the
   process is single-threaded and before any connection exists; only read
   afterwards, by the wrappers and by postern_sasl_is_seeded. */
static postern_sasl_slots_t slots;

static int postern_sasl_seeded_new(
    int slot, void *glob, sasl_server_params_t *sparams, const char *challenge, unsigned length, void **context) {
    unsigned char seed[6];
    if (sparams == NULL || sparams->utils == NULL || sparams->utils->rpool == NULL) return SASL_FAIL;
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) return SASL_FAIL;
    sasl_randseed(sparams->utils->rpool, (const char *)seed, sizeof seed);
    memset(seed, 0, sizeof seed);
    return slots.original[slot](glob, sparams, challenge, length, context);
}

#define POSTERN_SASL_WRAPPER(n)                                                                      \
    static int postern_sasl_new_##n(void *g, sasl_server_params_t *s, const char *c, unsigned l, void **x) { \
        return postern_sasl_seeded_new(n, g, s, c, l, x);                                                    \
    }
POSTERN_SASL_WRAPPER(0) POSTERN_SASL_WRAPPER(1) POSTERN_SASL_WRAPPER(2) POSTERN_SASL_WRAPPER(3)
POSTERN_SASL_WRAPPER(4) POSTERN_SASL_WRAPPER(5) POSTERN_SASL_WRAPPER(6) POSTERN_SASL_WRAPPER(7)
POSTERN_SASL_WRAPPER(8) POSTERN_SASL_WRAPPER(9) POSTERN_SASL_WRAPPER(10) POSTERN_SASL_WRAPPER(11)
POSTERN_SASL_WRAPPER(12) POSTERN_SASL_WRAPPER(13) POSTERN_SASL_WRAPPER(14) POSTERN_SASL_WRAPPER(15)
POSTERN_SASL_WRAPPER(16) POSTERN_SASL_WRAPPER(17) POSTERN_SASL_WRAPPER(18) POSTERN_SASL_WRAPPER(19)
POSTERN_SASL_WRAPPER(20) POSTERN_SASL_WRAPPER(21) POSTERN_SASL_WRAPPER(22) POSTERN_SASL_WRAPPER(23)
POSTERN_SASL_WRAPPER(24) POSTERN_SASL_WRAPPER(25) POSTERN_SASL_WRAPPER(26) POSTERN_SASL_WRAPPER(27)
POSTERN_SASL_WRAPPER(28) POSTERN_SASL_WRAPPER(29) POSTERN_SASL_WRAPPER(30) POSTERN_SASL_WRAPPER(31)

static postern_sasl_mech_new_t postern_sasl_wrapper(int n) {
    static const postern_sasl_mech_new_t wrappers[POSTERN_SASL_SLOTS] = {
        postern_sasl_new_0, postern_sasl_new_1, postern_sasl_new_2, postern_sasl_new_3,
        postern_sasl_new_4, postern_sasl_new_5, postern_sasl_new_6, postern_sasl_new_7,
        postern_sasl_new_8, postern_sasl_new_9, postern_sasl_new_10, postern_sasl_new_11,
        postern_sasl_new_12, postern_sasl_new_13, postern_sasl_new_14, postern_sasl_new_15,
        postern_sasl_new_16, postern_sasl_new_17, postern_sasl_new_18, postern_sasl_new_19,
        postern_sasl_new_20, postern_sasl_new_21, postern_sasl_new_22, postern_sasl_new_23,
        postern_sasl_new_24, postern_sasl_new_25, postern_sasl_new_26, postern_sasl_new_27,
        postern_sasl_new_28, postern_sasl_new_29, postern_sasl_new_30, postern_sasl_new_31,
    };
    return wrappers[n];
}

static int postern_sasl_is_wrapper(postern_sasl_mech_new_t f) {
    for (int i = 0; i < POSTERN_SASL_SLOTS; i++)
        if (postern_sasl_wrapper(i) == f) return 1;
    return 0;
}

/* Whether the memory at `address` is mapped writable (/proc/self/maps,
   read before the chroot). A plugin built with its records const would
   have them in read-only memory: writing there would crash the process,
   so such a record is left alone and counted as unwrapped. */
static int postern_sasl_writable(const void *address) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (maps == NULL) return 0;
    uintptr_t target = (uintptr_t)address;
    unsigned long start, end;
    char permissions[5];
    int writable = 0;
    char line[512];
    while (fgets(line, sizeof line, maps) != NULL) {
        if (sscanf(line, "%lx-%lx %4s", &start, &end, permissions) != 3) continue;
        if (target >= start && target + sizeof(void *) <= end) {
            writable = permissions[1] == 'w';
            break;
        }
    }
    fclose(maps);
    return writable;
}

/* Called by sasl_server_plugin_info for each loaded mechanism. `rock`
   counts the mechanisms left unwrapped (no slot left). */
static void postern_sasl_wrap_one(server_sasl_mechanism_t *m, sasl_info_callback_stage_t stage, void *rock) {
    if (stage != SASL_INFO_LIST_MECH || m == NULL || m->plug == NULL) return;
    sasl_server_plug_t *plug = (sasl_server_plug_t *)m->plug;
    if (plug->mech_new == NULL || postern_sasl_is_wrapper(plug->mech_new)) return;
    if (slots.used >= POSTERN_SASL_SLOTS || !postern_sasl_writable(&plug->mech_new)) {
        (*(int *)rock)++;
        return;
    }
    int n = slots.used++;
    slots.original[n] = plug->mech_new;
    slots.plug[n] = plug;
    plug->mech_new = postern_sasl_wrapper(n);
}

int postern_sasl_seed_nonces(void) {
    int unwrapped = 0;
    int code = sasl_server_plugin_info(NULL, postern_sasl_wrap_one, &unwrapped);
    return code == SASL_OK ? unwrapped : code;
}

int postern_sasl_is_seeded(const char *name) {
    if (name == NULL) return 0;
    for (int i = 0; i < slots.used; i++)
        if (slots.plug[i]->mech_name != NULL && strcasecmp(slots.plug[i]->mech_name, name) == 0) return 1;
    return 0;
}
