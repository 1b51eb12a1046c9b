// libsmbclient's functions, loaded the first time an SMB endpoint opens
// (core/util/shared_library.h says why: libsmbclient brings ~40 of Samba's
// libraries, ICU and Kerberos, +9.5 MiB resident, that no agent needs).
// The table is made once per process and never changes after.
#pragma once

#include <libsmbclient.h>

#include "core/status.h"
#include "core/util/shared_library.h"

namespace sluice::smb {

#define SLUICE_SMBCLIENT_FUNCTIONS(X)    \
  X(smbc_new_context)                    \
  X(smbc_free_context)                   \
  X(smbc_init_context)                   \
  X(smbc_setDebug)                       \
  X(smbc_setOptionUserData)              \
  X(smbc_getOptionUserData)              \
  X(smbc_setFunctionAuthDataWithContext) \
  X(smbc_setOptionNoAutoAnonymousLogin)  \
  X(smbc_setOptionUseKerberos)           \
  X(smbc_setOptionFallbackAfterKerberos) \
  X(smbc_setOptionUseCCache)             \
  X(smbc_setOptionSmbEncryptionLevel)    \
  X(smbc_setOptionProtocols)             \
  X(smbc_setTimeout)                     \
  X(smbc_setPort)                        \
  X(smbc_getFunctionOpen)                \
  X(smbc_getFunctionClose)               \
  X(smbc_getFunctionRead)                \
  X(smbc_getFunctionWrite)               \
  X(smbc_getFunctionLseek)               \
  X(smbc_getFunctionFtruncate)           \
  X(smbc_getFunctionStat)                \
  X(smbc_getFunctionFstat)               \
  X(smbc_getFunctionOpendir)             \
  X(smbc_getFunctionClosedir)            \
  X(smbc_getFunctionReaddirPlus2)        \
  X(smbc_getFunctionRename)              \
  X(smbc_getFunctionUnlink)              \
  X(smbc_getFunctionMkdir)               \
  X(smbc_getFunctionRmdir)               \
  X(smbc_getFunctionUtimes)

struct SmbclientApi {
  SLUICE_SMBCLIENT_FUNCTIONS(SLUICE_LIBRARY_MEMBER)
};

// The table, loading libsmbclient the first time; an error when the library
// or one of its functions is missing.
Result<const SmbclientApi*> Smbclient();

}  // namespace sluice::smb
