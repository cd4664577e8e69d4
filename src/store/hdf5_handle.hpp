#pragma once
// A thin RAII layer over the HDF5 C API, in the manner of HighFive: move-only handles that close
// themselves without throwing, one checked wrapper per C call that turns a failure (and HDF5's error
// stack) into a StorageError with context, and a guard that silences HDF5's own error printing.
// Internal to the library: public headers never include hdf5.h.
#include <hdf5.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace metaevo::h5 {

enum class ObjectKind { file, group, dataset, dataspace, datatype, attribute, property_list };
std::string_view to_string(ObjectKind kind);

/// Closes `id` with the H5*close that matches `kind`; never throws, returns false on failure.
bool close_noexcept(ObjectKind kind, hid_t id) noexcept;
/// Same, but throws StorageError (with HDF5's error stack) when the close fails.
void close_checked(ObjectKind kind, hid_t id);

/// Owns one HDF5 identifier of one kind. Moving takes the id and leaves H5I_INVALID_HID behind;
/// the destructor closes without throwing.
template <ObjectKind Kind>
class Handle {
 public:
  Handle() noexcept = default;
  /// Takes ownership of an id that a successful H5*create/open/copy returned.
  explicit Handle(hid_t id) noexcept : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t id() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }

  /// Closes now, reporting a failed close (e.g. a file whose final flush fails) as StorageError.
  void close() {
    if (!valid()) return;
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    close_checked(Kind, id);
  }

 private:
  void reset() noexcept {
    if (valid()) close_noexcept(Kind, id_);
    id_ = H5I_INVALID_HID;
  }

  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<ObjectKind::file>;
using Group = Handle<ObjectKind::group>;
using Dataset = Handle<ObjectKind::dataset>;
using Dataspace = Handle<ObjectKind::dataspace>;
using Datatype = Handle<ObjectKind::datatype>;
using Attribute = Handle<ObjectKind::attribute>;
using PropertyList = Handle<ObjectKind::property_list>;

/// Silences HDF5's automatic printing of its error stack to stderr while alive (the checked wrappers
/// put that stack into their exceptions instead) and restores the previous handler afterwards.
/// Guards must be destroyed in reverse order of construction: keep them scoped.
class ErrorPrintingSilencer {
 public:
  ErrorPrintingSilencer() noexcept;
  ~ErrorPrintingSilencer();
  ErrorPrintingSilencer(const ErrorPrintingSilencer&) = delete;
  ErrorPrintingSilencer& operator=(const ErrorPrintingSilencer&) = delete;

 private:
  H5E_auto2_t previous_function_ = nullptr;
  void* previous_data_ = nullptr;
  bool saved_ = false;
};

/// Silences HDF5's automatic error printing for the rest of the process (idempotent).
void silence_error_printing_for_process() noexcept;

/// HDF5's current error stack as one line, outermost call first ("H5Fopen: unable to open file;
/// H5F_open: ..."); empty when the stack is empty. Read it right after the failing call.
std::string error_stack_message();

// ---- checked wrappers: one per C call; `name` is the object's path or name for the message ----

File h5f_create(const std::string& path, unsigned flags, hid_t create_plist = H5P_DEFAULT,
                hid_t access_plist = H5P_DEFAULT);
File h5f_open(const std::string& path, unsigned flags, hid_t access_plist = H5P_DEFAULT);
void h5f_flush(hid_t file, std::string_view name);
/// True for a file with the HDF5 signature; throws when the file cannot be checked (e.g. missing).
bool h5f_is_hdf5(const std::string& path);

Group h5g_create2(hid_t location, const std::string& name);
Group h5g_open2(hid_t location, const std::string& name);

/// Whether a link `name` (one path component, or a path whose parents exist) exists under location.
bool h5l_exists(hid_t location, const std::string& name);
/// The names of the links in a group, in name order (H5Literate).
std::vector<std::string> h5l_iterate_names(hid_t group, std::string_view name);

/// Copies object `source_name` under `source` (a group or dataset, with everything in it) to
/// `destination_name` under `destination`, possibly in another file.
void h5o_copy(hid_t source, const std::string& source_name, hid_t destination, const std::string& destination_name);

Attribute h5a_create2(hid_t object, const std::string& name, hid_t file_type, hid_t space);
Attribute h5a_open(hid_t object, const std::string& name);
bool h5a_exists(hid_t object, const std::string& name);
void h5a_delete(hid_t object, const std::string& name);
void h5a_write(hid_t attribute, hid_t memory_type, const void* buffer, std::string_view name);
void h5a_read(hid_t attribute, hid_t memory_type, void* buffer, std::string_view name);
Datatype h5a_get_type(hid_t attribute, std::string_view name);
Dataspace h5a_get_space(hid_t attribute, std::string_view name);
/// The names of an object's attributes, in name order (H5Aiterate2).
std::vector<std::string> h5a_iterate_names(hid_t object, std::string_view name);

Dataspace h5s_create(H5S_class_t space_class);
Dataspace h5s_create_simple(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& max_dims = {});
/// Current dimensions of a simple dataspace (empty for a scalar one).
std::vector<hsize_t> h5s_get_simple_extent_dims(hid_t space, std::string_view name);
hssize_t h5s_get_simple_extent_npoints(hid_t space, std::string_view name);
void h5s_select_hyperslab(hid_t space, const std::vector<hsize_t>& start, const std::vector<hsize_t>& count,
                          std::string_view name);

PropertyList h5p_create(hid_t property_class);
void h5p_set_chunk(hid_t plist, const std::vector<hsize_t>& chunk_dims, std::string_view name);
void h5p_set_deflate(hid_t plist, unsigned level, std::string_view name);
void h5p_set_fill_value(hid_t plist, hid_t memory_type, const void* value, std::string_view name);
void h5p_set_fill_time(hid_t plist, H5D_fill_time_t fill_time, std::string_view name);
H5D_layout_t h5p_get_layout(hid_t plist, std::string_view name);

Dataset h5d_create2(hid_t location, const std::string& name, hid_t file_type, hid_t space,
                    hid_t create_plist = H5P_DEFAULT);
Dataset h5d_open2(hid_t location, const std::string& name);
void h5d_write(hid_t dataset, hid_t memory_type, hid_t memory_space, hid_t file_space, const void* buffer,
               std::string_view name);
void h5d_read(hid_t dataset, hid_t memory_type, hid_t memory_space, hid_t file_space, void* buffer,
              std::string_view name);
void h5d_set_extent(hid_t dataset, const std::vector<hsize_t>& dims, std::string_view name);
Dataspace h5d_get_space(hid_t dataset, std::string_view name);
Datatype h5d_get_type(hid_t dataset, std::string_view name);
PropertyList h5d_get_create_plist(hid_t dataset, std::string_view name);
/// Frees the memory HDF5 allocated for variable-length data read into `buffer`.
void h5d_vlen_reclaim(hid_t memory_type, hid_t space, void* buffer, std::string_view name);

Datatype h5t_copy(hid_t type);
void h5t_set_size(hid_t type, std::size_t size);
void h5t_set_cset(hid_t type, H5T_cset_t cset);
H5T_class_t h5t_get_class(hid_t type, std::string_view name);
bool h5t_is_variable_str(hid_t type, std::string_view name);
std::size_t h5t_get_size(hid_t type, std::string_view name);

/// Whether the filter (e.g. H5Z_FILTER_DEFLATE) is available in this HDF5 build.
bool h5z_filter_avail(H5Z_filter_t filter);

// ---- small conveniences built on the wrappers ----

/// A variable-length UTF-8 string type (for datasets and attributes of strings).
Datatype variable_length_string_type();

}  // namespace metaevo::h5
