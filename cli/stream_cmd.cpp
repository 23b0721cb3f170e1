// tern stream ...: placeholder until the stream commands land.
#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

int run_stream_add(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_edit(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_info(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_ls(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_rm(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_purge(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_get(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_stream_view(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }

}  // namespace tern::cli
