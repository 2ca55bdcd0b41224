// SQLite 3 for VaultCore's store. SQLITE_TRANSIENT is a macro cast Swift cannot import.
#ifndef EVALVAULT_CSQLITE_SHIM_H
#define EVALVAULT_CSQLITE_SHIM_H
#include <sqlite3.h>
static inline sqlite3_destructor_type evalvault_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
