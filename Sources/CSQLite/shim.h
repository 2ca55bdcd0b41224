// SQLite 3 for VaultCore's store. SQLITE_TRANSIENT is a macro cast Swift cannot import.
#ifndef EVALVAULT_CSQLITE_SHIM_H
#define EVALVAULT_CSQLITE_SHIM_H
#include <sqlite3.h>
static inline sqlite3_destructor_type evalvault_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/// Turns off SQLite's memory statistics, which take a global mutex on every allocation; must
/// run before the library initialises (it returns SQLITE_MISUSE, harmlessly, afterwards).
static inline int evalvault_sqlite_memstatus_off(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
#endif
