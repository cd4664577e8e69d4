// A test plugin without the entry symbol (no METAEVO_PLUGIN): the loader must refuse it.
extern "C" __attribute__((visibility("default"))) int metaevo_test_plugin_without_entry() { return 0; }
