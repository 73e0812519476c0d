#ifndef POSTERN_CSASLSHIMS_H
#define POSTERN_CSASLSHIMS_H

/*
 * Seeding Cyrus SASL's nonces from getrandom(2); see sasl_seeding.c.
 *
 * Only declarations here: the slot table that records which mechanisms
 * are wrapped is one static object in sasl_seeding.c. Were it a static in
 * a header-only inline function, every Swift object file that inlined a
 * caller would get a copy of its own that nothing writes (the release
 * build's optimizer did exactly that).
 */

/// Wraps every loaded server mechanism's mech_new so that it seeds the
/// connection's random pool from getrandom first. Returns how many could
/// not be wrapped (0 on success), or a negative SASL error code. Call once,
/// after sasl_server_init and before the first sasl_server_new.
int postern_sasl_seed_nonces(void);

/// 1 when the mechanism named `name` (case-insensitive) draws its nonces
/// from a pool seeded by getrandom, 0 otherwise.
int postern_sasl_is_seeded(const char *name);

#endif
