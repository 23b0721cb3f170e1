// tern consumer ...: placeholder until the consumer commands land.
#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

int run_consumer_add(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_consumer_info(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_consumer_ls(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_consumer_rm(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }
int run_consumer_next(const std::vector<std::string>& args) { return fail(kExitFailure, args[0] + ": not implemented yet"); }

}  // namespace tern::cli
