#include "protocols/kafka/rdkafka_api.h"

namespace sluice::kafka {

Result<const RdkafkaApi*> Rdkafka() {
  // Made once, by the first thread to ask (a function-local static's
  // initialization is thread-safe); only read after.
  static const Result<RdkafkaApi> loaded =
      LoadLibraryTable<RdkafkaApi>(SLUICE_RDKAFKA_SONAME, "librdkafka1", [](const SharedLibrary& lib, RdkafkaApi& api) {
        Status bound;
        SLUICE_RDKAFKA_FUNCTIONS(SLUICE_LIBRARY_BIND)
        return bound;
      });
  return LoadedTable(loaded);
}

}  // namespace sluice::kafka
