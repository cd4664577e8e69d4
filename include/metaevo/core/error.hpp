#pragma once
// One exception family for metaevo: every error a user can meet says what, where and what to do.
#include <stdexcept>
#include <string>

namespace metaevo {

/// Base of every exception metaevo throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration key is unknown, missing, of the wrong type or out of range.
/// The message names the key (and the TOML line when known).
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A plugin could not be loaded or registered (docs/plugins.md); the message starts with "plugin PATH: ".
/// A kind of config error: the run is refused before any work.
class PluginError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

/// An HDF5 file could not be written or read as a metaevo run.
class StorageError : public Error {
 public:
  using Error::Error;
};

/// An inner-loop evaluation failed (exception inside a rule or task); recorded, never fatal to a run.
class EvaluationError : public Error {
 public:
  using Error::Error;
};

}  // namespace metaevo
