// sluice: one binary, subcommands per job. Only argument parsing lives here.
#include <malloc.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/agent_command.h"
#include "app/appliance_command.h"
#include "app/drop_command.h"
#include "app/transfer_command.h"

int main(int argc, char** argv) {
  // One malloc arena for all threads: the agent's threads allocate little,
  // and per-thread arenas each keep their own high-water mark resident.
  mallopt(M_ARENA_MAX, 1);

  CLI::App app{"sluice: moves data from the edge into a data lake without losing any"};
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  app.require_subcommand(1);

  sluice::app::AgentCommand agent(app);
  sluice::app::TransferCommand transfer(app);
  sluice::app::DropCommand drop(transfer.command());
  sluice::app::ApplianceCommand appliance(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage error
  }
  if (drop.selected()) return drop.Execute();
  if (transfer.selected()) return transfer.Execute();
  if (appliance.selected()) return appliance.Execute();
  return agent.Execute();
}
