#include "agent/inventory/inventory_command.hpp"

#include "agent/inventory/collect.hpp"

namespace monsys::agent {
namespace {

class OstreamSink final : public inventory::TextSink {
  public:
    explicit OstreamSink(std::ostream& out) : out_(out) {}
    void write(std::string_view text) override {
        out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    }

  private:
    std::ostream& out_;
};

}  // namespace

InventoryCommandResult run_inventory_command(const InventoryCommandOptions& options,
                                             std::ostream& out, std::ostream& err) {
    InventoryCommandResult result;
    auto settings = inventory::load_inventory_settings(options.config_path);
    if (!settings) {
        err << "monsys-agent: " << settings.error() << "\n";
        result.exit_status = exit_usage;
        return result;
    }
    inventory::CollectRequest request;
    request.settings = *settings;
    if (options.sections) {
        auto sections = inventory::parse_sections(*options.sections);
        if (!sections) {
            err << "monsys-agent: --section: " << sections.error() << "\n";
            result.exit_status = exit_usage;
            return result;
        }
        request.sections = *sections;
    }
    // Written as it is collected (/proc and engine strings need not be UTF-8: what is not is
    // replaced rather than fail).
    OstreamSink sink(out);
    auto written = inventory::write_inventory_document(request, sink, options.pretty ? 2 : -1);
    out << "\n";
    out.flush();
    if (!written.written) {
        err << "monsys-agent: the process rows could not be read back from their spool\n";
        result.exit_status = exit_incomplete;
        return result;
    }
    const inventory::Inventory& collected = written.summary;
    if (!inventory::is_complete(collected)) {
        result.exit_status = exit_incomplete;
        auto report = [&err](const char* name, const auto& section) {
            if (section && section->status.error) {
                err << "monsys-agent: " << name << ": " << *section->status.error << "\n";
            }
        };
        report("systemd", collected.systemd);
        report("docker", collected.docker);
        report("processes", collected.processes);
        report("packages", collected.packages);
        report("ports", collected.ports);
    }
    return result;
}

}  // namespace monsys::agent
