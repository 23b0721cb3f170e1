// tern dlq ...: placeholder until the dlq commands land.
#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

int run_dlq_ls(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_dlq_redrive(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }

}  // namespace tern::cli
