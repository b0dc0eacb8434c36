#include "bench/mixed_load.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace chunklog::bench {
namespace asio = boost::asio;

double window_summary::percentile_ms(double p) const {
    if (latencies_us.empty()) return 0;
    auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(latencies_us.size() - 1) + 0.5);
    return latencies_us[std::min(rank, latencies_us.size() - 1)] / 1000.0;
}

mixed_load::mixed_load(asio::io_context& ioc, token_book& tokens, std::vector<load_part> parts, double total_rate)
    : ioc_(ioc), parts_(std::move(parts)) {
    for (std::size_t p = 0; p < parts_.size(); ++p)
        for (unsigned i = 0; i < parts_[p].connections; ++i) {
            auto user = parts_[p].load->user_of(i);
            slots_.push_back({p, i, std::make_unique<load_connection>(ioc, tokens.link(), user ? tokens.for_user(*user) : "")});
        }
    if (total_rate > 0 && !slots_.empty())
        interval_ = std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>(static_cast<double>(slots_.size()) / total_rate));
}

mixed_load::~mixed_load() = default;

asio::awaitable<void> mixed_load::start() {
    for (auto& slot : slots_) co_await parts_[slot.part].load->prepare(*slot.conn, slot.index);
    started_ = clock_type::now();
    for (std::size_t i = 0; i < slots_.size(); ++i) asio::co_spawn(ioc_, drive(slots_[i], i), asio::detached);
}

std::uint16_t mixed_load::error_id(const std::string& kind) {
    auto found = std::find(errors_.begin(), errors_.end(), kind);
    if (found == errors_.end()) found = errors_.insert(errors_.end(), kind);
    return static_cast<std::uint16_t>(1 + (found - errors_.begin()));
}

// Connection `position` of all sends its operations at started_ + (position
// / connections + k) * interval_ when paced: the connections' schedules
// interleave evenly.
asio::awaitable<void> mixed_load::drive(connection_slot& slot, std::size_t position) {
    asio::steady_timer timer(ioc_);
    auto due = started_ + interval_ * static_cast<long>(position) / static_cast<long>(slots_.size());
    for (std::uint64_t op = 0; !stopping_; ++op, due += interval_) {
        if (interval_ == clock_type::duration::zero()) {
            due = clock_type::now();
        } else if (due > clock_type::now()) {
            timer.expires_at(due);
            co_await timer.async_wait(asio::use_awaitable);
            if (stopping_) break;
        }
        auto outcome = co_await parts_[slot.part].load->run_one(*slot.conn, slot.index, op);
        records_.push_back({due, clock_type::now(), static_cast<std::uint32_t>(slot.part),
                            outcome.ok ? std::uint16_t{0} : error_id(outcome.error),
                            static_cast<std::uint16_t>(std::min<unsigned>(outcome.conflicts, 65535))});
    }
}

window_summary mixed_load::summarize(const std::string& name, clock_type::time_point from,
                                     clock_type::time_point to) const {
    window_summary out;
    out.seconds = std::chrono::duration<double>(to - from).count();
    auto part = std::find_if(parts_.begin(), parts_.end(), [&](const load_part& p) { return p.name == name; });
    if (part == parts_.end()) return out;
    auto index = static_cast<std::uint32_t>(part - parts_.begin());
    for (const auto& r : records_) {
        if (r.part != index || r.due < from || r.done > to) continue;
        if (r.error != 0) {
            ++out.errors[errors_[r.error - 1]];
            continue;
        }
        ++out.ops;
        out.conflicts += r.conflicts;
        out.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(r.done - r.due).count()));
    }
    std::sort(out.latencies_us.begin(), out.latencies_us.end());
    return out;
}

}  // namespace chunklog::bench
