#include "store/hdf5_handle.hpp"

#include <cstdio>
#include <mutex>
#include <string>

#include <unistd.h>

#include "metaevo/core/error.hpp"
#include "store/file_system_error.hpp"

namespace metaevo::h5 {

namespace {

herr_t append_error_entry(unsigned /*position*/, const H5E_error2_t* entry, void* client_data) {
  auto& message = *static_cast<std::string*>(client_data);
  if (!message.empty()) message += "; ";
  message += entry->func_name != nullptr ? entry->func_name : "?";
  message += ": ";
  // Some descriptions embed ctime() text with its newline: keep the message on one line.
  const std::string description = entry->desc != nullptr ? entry->desc : "(no description)";
  for (std::size_t i = 0; i < description.size(); ++i) {
    if (description[i] != '\n') {
      message += description[i];
    } else if (i + 1 < description.size() && description[i + 1] != ',') {
      message += ' ';
    }
  }
  return 0;
}

/// Throws StorageError "CALL failed for 'NAME': <HDF5 error stack>".
[[noreturn]] void throw_failure(std::string_view call, std::string_view name) {
  // Read the stack before anything else: the next API call would clear it.
  const std::string stack = error_stack_message();
  std::string message(call);
  message += " failed";
  if (!name.empty()) {
    message += " for '";
    message += name;
    message += "'";
  }
  // A system call's failure (a full disk, an I/O error) in plain words, naming the file: HDF5's
  // account of it would repeat the same errno a dozen times, once per layer and flush attempt.
  if (const std::optional<int> error_number = file_system::errno_in_hdf5_stack(stack)) {
    const std::optional<std::filesystem::path> file = file_system::file_in_hdf5_stack(stack);
    if (file) {
      const bool writing = stack.find("write failed") != std::string::npos;
      const bool reading = stack.find("read failed") != std::string::npos;
      message += writing ? ": cannot write " : reading ? ": cannot read " : ": cannot use ";
      message += file->string() == name ? std::string("it") : "'" + file->string() + "'";
    }
    message += ": " + file_system::describe_errno(*error_number, file.value_or(""));
  } else {
    message += stack.empty() ? std::string(" (HDF5 reported no details)") : ": " + stack;
  }
  throw StorageError(message);
}

void check_status(herr_t status, std::string_view call, std::string_view name) {
  if (status < 0) throw_failure(call, name);
}

hid_t check_id(hid_t id, std::string_view call, std::string_view name) {
  if (id < 0) throw_failure(call, name);
  return id;
}

bool check_tri(htri_t value, std::string_view call, std::string_view name) {
  if (value < 0) throw_failure(call, name);
  return value > 0;
}

int rank_of(const std::vector<hsize_t>& dims) { return static_cast<int>(dims.size()); }

}  // namespace

std::string_view to_string(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::file: return "file";
    case ObjectKind::group: return "group";
    case ObjectKind::dataset: return "dataset";
    case ObjectKind::dataspace: return "dataspace";
    case ObjectKind::datatype: return "datatype";
    case ObjectKind::attribute: return "attribute";
    case ObjectKind::property_list: return "property_list";
  }
  return "unknown";
}

namespace {

/// HDF5 1.10 frees a file whose H5Fclose fails (its final flush meets a full disk) but keeps its
/// id; the library's own exit handler (H5_term_library, registered with atexit when it started)
/// then closes that id again and crashes on the freed memory. After such a failure the process ends
/// without HDF5's handler: an on_exit handler registered now runs before it (handlers run in
/// reverse order), flushes stdio and leaves with the status exit() was given. What HDF5 would still
/// close then is dropped, as after a kill; the store never relies on it.
void skip_hdf5_exit_handler_after_failed_file_close() noexcept {
  static std::once_flag registered;
  std::call_once(registered, [] {
    ::on_exit(
        [](int status, void*) {
          std::fflush(nullptr);
          ::_exit(status);
        },
        nullptr);
  });
}

herr_t close_by_kind(ObjectKind kind, hid_t id) noexcept {
  switch (kind) {
    case ObjectKind::file: {
      const herr_t status = H5Fclose(id);
      if (status < 0) skip_hdf5_exit_handler_after_failed_file_close();
      return status;
    }
    case ObjectKind::group: return H5Gclose(id);
    case ObjectKind::dataset: return H5Dclose(id);
    case ObjectKind::dataspace: return H5Sclose(id);
    case ObjectKind::datatype: return H5Tclose(id);
    case ObjectKind::attribute: return H5Aclose(id);
    case ObjectKind::property_list: return H5Pclose(id);
  }
  return -1;
}

std::string_view close_call_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::file: return "H5Fclose";
    case ObjectKind::group: return "H5Gclose";
    case ObjectKind::dataset: return "H5Dclose";
    case ObjectKind::dataspace: return "H5Sclose";
    case ObjectKind::datatype: return "H5Tclose";
    case ObjectKind::attribute: return "H5Aclose";
    case ObjectKind::property_list: return "H5Pclose";
  }
  return "H5?close";
}

}  // namespace

bool close_noexcept(ObjectKind kind, hid_t id) noexcept {
  if (id < 0) return true;
  // A failed close in a destructor has nowhere to go; keep HDF5 from printing it either.
  ErrorPrintingSilencer silence;
  return close_by_kind(kind, id) >= 0;
}

void close_checked(ObjectKind kind, hid_t id) {
  if (id < 0) return;
  check_status(close_by_kind(kind, id), close_call_name(kind), "");  // the call names the kind
}

ErrorPrintingSilencer::ErrorPrintingSilencer() noexcept {
  saved_ = H5Eget_auto2(H5E_DEFAULT, &previous_function_, &previous_data_) >= 0;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorPrintingSilencer::~ErrorPrintingSilencer() {
  if (saved_) H5Eset_auto2(H5E_DEFAULT, previous_function_, previous_data_);
}

void silence_error_printing_for_process() noexcept { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string error_stack_message() {
  std::string message;
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, append_error_entry, &message) < 0) {
    return "(the HDF5 error stack could not be read)";
  }
  return message;
}

File h5f_create(const std::string& path, unsigned flags, hid_t create_plist, hid_t access_plist) {
  return File(check_id(H5Fcreate(path.c_str(), flags, create_plist, access_plist), "H5Fcreate", path));
}

File h5f_open(const std::string& path, unsigned flags, hid_t access_plist) {
  return File(check_id(H5Fopen(path.c_str(), flags, access_plist), "H5Fopen", path));
}

void h5f_flush(hid_t file, std::string_view name) {
  check_status(H5Fflush(file, H5F_SCOPE_GLOBAL), "H5Fflush", name);
}

bool h5f_is_hdf5(const std::string& path) { return check_tri(H5Fis_hdf5(path.c_str()), "H5Fis_hdf5", path); }

Group h5g_create2(hid_t location, const std::string& name) {
  return Group(check_id(H5Gcreate2(location, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2",
                        name));
}

Group h5g_open2(hid_t location, const std::string& name) {
  return Group(check_id(H5Gopen2(location, name.c_str(), H5P_DEFAULT), "H5Gopen2", name));
}

bool h5l_exists(hid_t location, const std::string& name) {
  return check_tri(H5Lexists(location, name.c_str(), H5P_DEFAULT), "H5Lexists", name);
}

namespace {

// The iteration callbacks only collect names: no exception may cross HDF5's C frames.
herr_t collect_link_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

herr_t collect_attribute_name(hid_t /*object*/, const char* name, const H5A_info_t* /*info*/, void* names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(name);
  return 0;
}

}  // namespace

std::vector<std::string> h5l_iterate_names(hid_t group, std::string_view name) {
  std::vector<std::string> names;
  hsize_t index = 0;
  check_status(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_link_name, &names), "H5Literate", name);
  return names;
}

void h5o_copy(hid_t source, const std::string& source_name, hid_t destination, const std::string& destination_name) {
  check_status(H5Ocopy(source, source_name.c_str(), destination, destination_name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
               "H5Ocopy", source_name);
}

Attribute h5a_create2(hid_t object, const std::string& name, hid_t file_type, hid_t space) {
  return Attribute(
      check_id(H5Acreate2(object, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", name));
}

Attribute h5a_open(hid_t object, const std::string& name) {
  return Attribute(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
}

bool h5a_exists(hid_t object, const std::string& name) {
  return check_tri(H5Aexists(object, name.c_str()), "H5Aexists", name);
}

void h5a_delete(hid_t object, const std::string& name) { check_status(H5Adelete(object, name.c_str()), "H5Adelete", name); }

void h5a_write(hid_t attribute, hid_t memory_type, const void* buffer, std::string_view name) {
  check_status(H5Awrite(attribute, memory_type, buffer), "H5Awrite", name);
}

void h5a_read(hid_t attribute, hid_t memory_type, void* buffer, std::string_view name) {
  check_status(H5Aread(attribute, memory_type, buffer), "H5Aread", name);
}

Datatype h5a_get_type(hid_t attribute, std::string_view name) {
  return Datatype(check_id(H5Aget_type(attribute), "H5Aget_type", name));
}

Dataspace h5a_get_space(hid_t attribute, std::string_view name) {
  return Dataspace(check_id(H5Aget_space(attribute), "H5Aget_space", name));
}

std::vector<std::string> h5a_iterate_names(hid_t object, std::string_view name) {
  std::vector<std::string> names;
  hsize_t index = 0;
  check_status(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, collect_attribute_name, &names), "H5Aiterate2",
               name);
  return names;
}

Dataspace h5s_create(H5S_class_t space_class) {
  return Dataspace(check_id(H5Screate(space_class), "H5Screate", ""));
}

Dataspace h5s_create_simple(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& max_dims) {
  if (!max_dims.empty() && max_dims.size() != dims.size()) {
    throw StorageError("H5Screate_simple: " + std::to_string(dims.size()) + " dimensions but " +
                       std::to_string(max_dims.size()) + " maximum dimensions");
  }
  return Dataspace(check_id(
      H5Screate_simple(rank_of(dims), dims.data(), max_dims.empty() ? nullptr : max_dims.data()),
      "H5Screate_simple", ""));
}

hssize_t h5s_get_simple_extent_npoints(hid_t space, std::string_view name) {
  const hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) throw_failure("H5Sget_simple_extent_npoints", name);
  return points;
}

std::vector<hsize_t> h5s_get_simple_extent_dims(hid_t space, std::string_view name) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) throw_failure("H5Sget_simple_extent_ndims", name);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    throw_failure("H5Sget_simple_extent_dims", name);
  }
  return dims;
}

void h5s_select_hyperslab(hid_t space, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                          std::string_view name) {
  check_status(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
               "H5Sselect_hyperslab", name);
}

PropertyList h5p_create(hid_t property_class) {
  return PropertyList(check_id(H5Pcreate(property_class), "H5Pcreate", ""));
}

void h5p_set_chunk(hid_t plist, const std::vector<hsize_t>& chunk_dims, std::string_view name) {
  check_status(H5Pset_chunk(plist, rank_of(chunk_dims), chunk_dims.data()), "H5Pset_chunk", name);
}

void h5p_set_deflate(hid_t plist, unsigned level, std::string_view name) {
  check_status(H5Pset_deflate(plist, level), "H5Pset_deflate", name);
}

void h5p_set_fill_value(hid_t plist, hid_t memory_type, const void* value, std::string_view name) {
  check_status(H5Pset_fill_value(plist, memory_type, value), "H5Pset_fill_value", name);
}

void h5p_set_fill_time(hid_t plist, H5D_fill_time_t fill_time, std::string_view name) {
  check_status(H5Pset_fill_time(plist, fill_time), "H5Pset_fill_time", name);
}

H5D_layout_t h5p_get_layout(hid_t plist, std::string_view name) {
  const H5D_layout_t layout = H5Pget_layout(plist);
  if (layout < 0) throw_failure("H5Pget_layout", name);
  return layout;
}

Dataset h5d_create2(hid_t location, const std::string& name, hid_t file_type, hid_t space, hid_t create_plist) {
  return Dataset(check_id(H5Dcreate2(location, name.c_str(), file_type, space, H5P_DEFAULT, create_plist, H5P_DEFAULT),
                          "H5Dcreate2", name));
}

Dataset h5d_open2(hid_t location, const std::string& name) {
  return Dataset(check_id(H5Dopen2(location, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
}

namespace {
// HDF5 allocates its type-conversion and background buffers at the transfer list's buffer size for
// every H5Dwrite (1 MiB by default, zeroed): for the small appends of a generation that cost more
// than the write (page faults on fresh memory each time). 64 KiB buffers convert larger writes in
// strips instead. One list for the process, never closed (HDF5 closes it at exit).
hid_t small_buffer_transfer_list() {
  static const hid_t list = [] {
    const hid_t created = check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", "dataset transfer list");
    check_status(H5Pset_buffer(created, 64 * 1024, nullptr, nullptr), "H5Pset_buffer", "dataset transfer list");
    return created;
  }();
  return list;
}
}  // namespace

void h5d_write(hid_t dataset, hid_t memory_type, hid_t memory_space, hid_t file_space, const void* buffer,
               std::string_view name) {
  check_status(H5Dwrite(dataset, memory_type, memory_space, file_space, small_buffer_transfer_list(), buffer),
               "H5Dwrite", name);
}

void h5d_read(hid_t dataset, hid_t memory_type, hid_t memory_space, hid_t file_space, void* buffer,
              std::string_view name) {
  check_status(H5Dread(dataset, memory_type, memory_space, file_space, H5P_DEFAULT, buffer), "H5Dread", name);
}

void h5d_set_extent(hid_t dataset, const std::vector<hsize_t>& dims, std::string_view name) {
  check_status(H5Dset_extent(dataset, dims.data()), "H5Dset_extent", name);
}

Dataspace h5d_get_space(hid_t dataset, std::string_view name) {
  return Dataspace(check_id(H5Dget_space(dataset), "H5Dget_space", name));
}

Datatype h5d_get_type(hid_t dataset, std::string_view name) {
  return Datatype(check_id(H5Dget_type(dataset), "H5Dget_type", name));
}

PropertyList h5d_get_create_plist(hid_t dataset, std::string_view name) {
  return PropertyList(check_id(H5Dget_create_plist(dataset), "H5Dget_create_plist", name));
}

Datatype h5t_copy(hid_t type) { return Datatype(check_id(H5Tcopy(type), "H5Tcopy", "")); }

void h5t_set_size(hid_t type, std::size_t size) { check_status(H5Tset_size(type, size), "H5Tset_size", ""); }

void h5t_set_cset(hid_t type, H5T_cset_t cset) { check_status(H5Tset_cset(type, cset), "H5Tset_cset", ""); }

H5T_class_t h5t_get_class(hid_t type, std::string_view name) {
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class == H5T_NO_CLASS) throw_failure("H5Tget_class", name);
  return type_class;
}

bool h5t_is_variable_str(hid_t type, std::string_view name) {
  return check_tri(H5Tis_variable_str(type), "H5Tis_variable_str", name);
}

std::size_t h5t_get_size(hid_t type, std::string_view name) {
  const std::size_t size = H5Tget_size(type);
  if (size == 0) throw_failure("H5Tget_size", name);
  return size;
}

void h5d_vlen_reclaim(hid_t memory_type, hid_t space, void* buffer, std::string_view name) {
  check_status(H5Dvlen_reclaim(memory_type, space, H5P_DEFAULT, buffer), "H5Dvlen_reclaim", name);
}

bool h5z_filter_avail(H5Z_filter_t filter) {
  return check_tri(H5Zfilter_avail(filter), "H5Zfilter_avail", "filter " + std::to_string(filter));
}

Datatype variable_length_string_type() {
  Datatype type = h5t_copy(H5T_C_S1);
  h5t_set_size(type.id(), H5T_VARIABLE);
  h5t_set_cset(type.id(), H5T_CSET_UTF8);
  return type;
}

}  // namespace metaevo::h5
