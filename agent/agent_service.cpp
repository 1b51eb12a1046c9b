#include "agent/agent_service.h"

#include <exception>
#include <utility>

#include "agent/agent.h"
#include "core/systemd/sd_notify.h"

namespace sluice {

AgentService::AgentService(std::string config_path, AgentConfig config, Logger log, Notify notify,
                           std::chrono::milliseconds watchdog_every)
    : config_path_(std::move(config_path)),
      current_(std::move(config)),
      log_(std::move(log)),
      notify_(std::move(notify)),
      watchdog_every_(watchdog_every) {}

AgentObserver AgentService::Observer() {
  AgentObserver observer;
  observer.running = [this] {
    reached_running_ = true;
    previous_.reset();
    notify_("READY=1\nSTATUS=running: " + std::to_string(current_.sources.size()) + " sources, " +
            std::to_string(current_.sinks.size()) + " sinks");
  };
  observer.alive_every = watchdog_every_;
  observer.alive = [this](const std::string& status) { notify_("WATCHDOG=1\nSTATUS=running: " + status); };
  observer.stopping = [this] {
    std::lock_guard lock(mu_);
    // A reload's stop is not the service's: systemd already heard RELOADING=1.
    if (stopping_ || !pending_.has_value()) notify_("STOPPING=1\nSTATUS=stopping: delivering what is pending");
  };
  return observer;
}

Status AgentService::Run() {
  const AgentObserver observer = Observer();
  for (;;) {
    std::stop_token stop;
    {
      std::lock_guard lock(mu_);
      stop = generation_.get_token();
    }
    reached_running_ = false;
    Status result = RunAgent(current_, log_, stop, abort_.get_token(), observer);
    std::lock_guard lock(mu_);
    if (!result.ok()) {
      if (reached_running_ || !previous_.has_value() || stopping_) return result;
      log_->error("reload: the new configuration did not start ({}); starting the previous one again",
                  result.message());
      notify_(StatusLine("reload failed: " + result.message()));
      current_ = std::move(*previous_);
      previous_.reset();
    } else {
      if (stopping_ || !pending_.has_value()) return result;
      previous_ = std::move(current_);
      current_ = std::move(*pending_);
      pending_.reset();
      log_->info("reload: starting with the new configuration of {}", config_path_);
    }
    generation_ = std::stop_source();
    // Only the level can change in place: the logger's sinks stay the
    // process's (log_format takes effect at the next start).
    log_->set_level(current_.log_level);
  }
}

void AgentService::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  generation_.request_stop();
}

void AgentService::Abort() { abort_.request_stop(); }

Status AgentService::Reload() {
  AgentConfig next;
  try {
    next = LoadAgentConfig(config_path_);
  } catch (const std::exception& e) {
    // ConfigError names file:line:column and the key.
    log_->error("reload refused, the running configuration stays: {}", e.what());
    notify_(StatusLine(std::string("reload refused: ") + e.what()));
    return Status::InvalidArgument(e.what());
  }
  std::lock_guard lock(mu_);
  if (stopping_) return Status::Cancelled("stopping: reload ignored");
  log_->info("reload: {} is valid; stopping the pipelines (as on SIGTERM) to start them with it", config_path_);
  notify_(ReloadingMessage());
  pending_ = std::move(next);
  generation_.request_stop();
  return Status::Ok();
}

}  // namespace sluice
