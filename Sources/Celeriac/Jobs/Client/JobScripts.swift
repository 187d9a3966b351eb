import RESP

/// The Lua scripts of job state changes: each a check-and-set, so a cancel and the reduce step
/// racing each other leave one final state, counted once in the statistics.
enum JobScripts {
    /// Moves a job to `ARGV[1]` unless it is finished already; a finished state also records the
    /// end time, items and seconds and adds them to the statistics. Creates the record of a job
    /// built by hand (a Python chord) that has none.
    /// KEYS: record, statistics, partitions. ARGV: state, now, items, failed items, seconds,
    /// function, ttl seconds (0: none). Returns 1 when it moved, 0 when the job was finished.
    static let transition = RedisScript(
        """
        local state = redis.call('HGET', KEYS[1], 'state')
        if state == 'completed' or state == 'failed' or state == 'cancelled' then return 0 end
        local new = ARGV[1]
        redis.call('HSET', KEYS[1], 'state', new)
        if new == 'completed' or new == 'failed' or new == 'cancelled' then
            redis.call('HSET', KEYS[1], 'finished_at', ARGV[2], 'items_processed', ARGV[3], 'failed_items', ARGV[4],
                'seconds', ARGV[5])
            redis.call('HINCRBY', KEYS[2], 'jobs', 1)
            redis.call('HINCRBY', KEYS[2], new, 1)
            redis.call('HINCRBY', KEYS[2], 'items', ARGV[3])
            redis.call('HINCRBY', KEYS[2], 'failed_items', ARGV[4])
            redis.call('HINCRBYFLOAT', KEYS[2], 'seconds', ARGV[5])
            local prefix = 'function:' .. ARGV[6] .. ':'
            redis.call('HINCRBY', KEYS[2], prefix .. 'jobs', 1)
            redis.call('HINCRBY', KEYS[2], prefix .. new, 1)
            redis.call('HINCRBY', KEYS[2], prefix .. 'items', ARGV[3])
            redis.call('HINCRBYFLOAT', KEYS[2], prefix .. 'seconds', ARGV[5])
        end
        if tonumber(ARGV[7]) > 0 then
            redis.call('EXPIRE', KEYS[1], ARGV[7])
            redis.call('EXPIRE', KEYS[3], ARGV[7])
        end
        return 1
        """)
}

extension JobScripts {
    /// A map task's start: refuses when the job is finished (cancelled), else marks it running,
    /// records the first start time (and, for a job built by hand, its name and size) and the
    /// partition's entry. KEYS: record, partitions. ARGV: now, partition, entry JSON, partitions
    /// total ('' when unknown), function, ttl seconds, job id. Returns the job's state before.
    static let start = RedisScript(
        """
        local state = redis.call('HGET', KEYS[1], 'state')
        if state == 'completed' or state == 'failed' or state == 'cancelled' then return state end
        if not state or state == 'pending' then redis.call('HSET', KEYS[1], 'state', 'running') end
        redis.call('HSETNX', KEYS[1], 'started_at', ARGV[1])
        if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[1], 'partitions_total', ARGV[4]) end
        redis.call('HSETNX', KEYS[1], 'function', ARGV[5])
        redis.call('HSETNX', KEYS[1], 'id', ARGV[7])
        redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
        if tonumber(ARGV[6]) > 0 then
            redis.call('EXPIRE', KEYS[1], ARGV[6])
            redis.call('EXPIRE', KEYS[2], ARGV[6])
        end
        return state or 'new'
        """)
}
