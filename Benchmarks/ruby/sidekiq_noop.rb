# The peer of `celeriac-bench worker`'s drain: a no-op Sidekiq job (Debian's ruby-sidekiq 6.4),
# logging only warnings so that the log is not what is measured. Sidekiq stores no results and
# acks nothing: each job is one BRPOP. REDIS_URL names the benchmark's private redis-server.
#
#   sidekiq -r ./sidekiq_noop.rb -c N           a worker process
#   ruby sidekiq_noop.rb enqueue N              queues N jobs on `queue:staging` (the benchmark
#                                               renames it to `queue:default` once the workers are up)
require "sidekiq"

Sidekiq.configure_server { |config| config.logger.level = Logger::WARN }

class NoopJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  def perform; end
end

if __FILE__ == $PROGRAM_NAME && ARGV[0] == "enqueue"
  count = Integer(ARGV[1])
  count.times.each_slice(1000) do |slice|
    Sidekiq::Client.push_bulk("class" => NoopJob, "args" => slice.map { [] }, "queue" => "staging")
  end
end
