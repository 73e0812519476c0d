#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <sasl/saslplug.h>

/*
 * Cyrus SASL's headers, as they are. The code of our own that goes with
 * them (seeding the mechanisms' nonces from getrandom) keeps state, so it
 * lives in a .c file of the CSASLShims target, not in this header.
 */
