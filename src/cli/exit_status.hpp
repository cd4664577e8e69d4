#pragma once
// The exit statuses of the metaevo command (README.md and cluster/README.md document them): scripts
// and job files branch on them.

#include <cstdio>
#include <exception>

#include "metaevo/core/error.hpp"

namespace metaevo::cli {

enum ExitStatus : int {
  exit_ok = 0,
  exit_internal_error = 1,
  exit_usage_error = 2,    // bad command line, or the output exists without --force
  exit_config_error = 3,   // the config was rejected before any work
  exit_storage_error = 4,  // the run file could not be written or read
  exit_interrupted = 75,   // stopped by SIGTERM/SIGINT/SIGUSR1/SIGUSR2: every completed generation is in the file
};

/// Runs a read-only command's body and turns what it throws into a one-line message on stderr and
/// its status: PluginError and ConfigError 3, StorageError 4, anything else 1.
template <class Body>
int with_exit_status(Body&& body) {
  try {
    return body();
  } catch (const PluginError& error) {
    std::fprintf(stderr, "metaevo: %s\n", error.what());  // "plugin PATH: ..."
    return exit_config_error;
  } catch (const ConfigError& error) {
    std::fprintf(stderr, "metaevo: config error: %s\n", error.what());
    return exit_config_error;
  } catch (const StorageError& error) {
    std::fprintf(stderr, "metaevo: %s\n", error.what());
    return exit_storage_error;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "metaevo: error: %s\n", error.what());
    return exit_internal_error;
  }
}

}  // namespace metaevo::cli
