#pragma once
// The inventory document (docs/inventory.md) written as a stream: the same bytes as
// to_json(inventory).dump(indent) (keys in nlohmann's sorted order), without building the tree.
// The process rows, the one part that grows with the host's load, can be written ahead into a
// spool while /proc is walked and spliced into the document at the end.
#include <cstddef>
#include <vector>

#include "common/inventory/json_writer.hpp"
#include "common/inventory/model.hpp"
#include "common/inventory/text_spool.hpp"

namespace monsys::inventory {

// How deep the process rows sit in the document (the document, the section, the array): the
// element_depth of the JsonWriter that writes them into a spool.
inline constexpr std::size_t process_row_depth = 3;

void write_process_row(JsonWriter& writer, const Process& process);

// Process rows written ahead (by a JsonWriter with element_depth process_row_depth and the
// document's indent), possibly in several consecutive parts, spliced in their order.
struct SpooledRows {
    struct Part {
        TextSpool* text = nullptr;
        std::size_t count = 0;
    };
    std::vector<Part> parts;
};

// Writes the whole document. With `process_rows`, the processes section's rows are those
// (inventory.processes->processes is then not written). False if the spool could not be read
// back: the document is then cut short and must not be used.
bool write_inventory(JsonWriter& writer, const Inventory& inventory,
                     const SpooledRows* process_rows = nullptr);

}  // namespace monsys::inventory
