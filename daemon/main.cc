// liftguardd: the Liftguard daemon. Thin: flags, logging, then App.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "daemon/app.h"
#include "daemon/config.h"

int main(int argc, char** argv) {
  CLI::App cli{"liftguardd: watches elevator controllers over Modbus and raises alarms"};
  std::string config_path;
  std::string check_path;
  std::string log_level;
  cli.add_option("-c,--config", config_path, "configuration file (TOML)");
  cli.add_option("--check-config", check_path, "only validate this configuration file and exit");
  cli.add_option("--log-level", log_level, "trace|debug|info|warn|error (overrides the file)");
  CLI11_PARSE(cli, argc, argv);

  if (!check_path.empty()) {
    auto cfg = lg::LoadConfig(check_path);
    if (!cfg.ok()) {
      std::cerr << cfg.error().message << "\n";
      return 2;
    }
    std::cout << check_path << ": OK (" << cfg->links.size() << " links, " << cfg->elevators.size()
              << " elevators)\n";
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "liftguardd: --config FILE is required (or --check-config FILE)\n";
    return 2;
  }
  auto cfg = lg::LoadConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 2;
  }
  lg::SetUpLogging(log_level.empty() ? cfg->daemon.log_level : log_level);
  auto app = lg::App::Create(std::move(cfg).value());
  if (!app.ok()) {
    std::cerr << "liftguardd: " << app.error().message << "\n";
    return 1;
  }
  return (*app)->Run();
}
