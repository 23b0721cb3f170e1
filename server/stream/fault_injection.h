#pragma once
// Test-only disk faults for the real server, so integration tests can prove over the wire what a
// publisher sees when the disk fills up (ENOSPC) or fails (EIO). Compiled in only when CMake's
// TERN_FAULT_INJECTION is on (the default of TERN_SANITIZE builds, i.e. the test build); a
// production build has no hook and ignores the variable below.
//
// TERN_TEST_FAULTS, read once at the first call, is a comma-separated list:
//   enospc_after_bytes=<n>  writes (File::append, File::write_at) succeed for <n> bytes in total;
//                           the write that crosses the budget writes what fits (a torn write),
//                           then it and every later write fail with "No space left on device"
//                           (the disk stays full).
//   eio_on_write_after_bytes=<n>  the same with "Input/output error".
//   eio_on_sync_after=<n>   the first <n> File::sync calls (fdatasync) succeed; every later one
//                           fails with "Input/output error", the data already written staying in
//                           the file, as with a real failing fsync.
//   path=<substring>        only files whose path contains it are counted and faulted.
//   arm_file=<path>         no fault, and no counting, until this file exists (checked on each
//                           faultable call), so a test can start the fault at a chosen point.
//   clear_file=<path>       once this file exists, every fault is off for good (checked on each
//                           faultable call), so a test can end the fault without a restart.
// Only the stream block files (FileStore) go through the hook; config.json writes do not.
// A malformed value is logged as an error and leaves the file system unfaulted.

#include "server/stream/file_system.h"

namespace tern::server {

// The FileSystem a stream's FileStore uses: posix_file_system(), or in a TERN_FAULT_INJECTION
// build with TERN_TEST_FAULTS set, one process-wide faulting decorator over it (never destroyed).
FileSystem* stream_file_system();

}  // namespace tern::server
