import RESP

/// The Lua scripts of ``RedisConsumer``. Each one is a single atomic step, so that no message is
/// ever both in a queue and in a consumer's bookkeeping, or in neither.
enum ConsumerScripts {
    /// `record(raw, queue)`: the kombu bookkeeping of one fetched message (its `unacked_index`
    /// score and `unacked` entry, written for the whole batch by `flushRecords()`, one `ZADD` and
    /// one `HSET` with many pairs, as if written one by one); a message without a readable
    /// delivery tag goes to the dead-letter list instead. KEYS[1] unacked, KEYS[2] unacked_index,
    /// KEYS[3] dead letter; ARGV[1] now (epoch s). Returns `{1, raw, tag}` or `{0, raw, reason}`.
    ///
    /// The tag, exchange and routing key are found by `unique`, a plain search, when each key
    /// occurs exactly once in the envelope with a plain string value (`cjson.decode` of a whole
    /// envelope was most of the script's time). That occurrence is a JSON key: inside a JSON string
    /// a quote is escaped, and a string value is never followed by a colon. It may still be a key of
    /// another object than `properties` (a custom header named `delivery_tag`) when `properties`
    /// has none; the worker checks the decoded envelope's tag against the recorded one and
    /// dead-letters such a message. (An exchange or routing key read that way, for an envelope
    /// whose `delivery_info` lacks it, only changes what kombu's restore would read.) Anything else
    /// (missing, repeated, escaped, not a string) goes the `cjson.decode` way.
    private static let recordFunction = """
        local function unique(raw, name)
            -- Searched without its opening quote (checked after): a quote is the commonest byte.
            local quoted = name .. '"'
            local at = string.find(raw, quoted, 1, true)
            if not at or string.byte(raw, at - 1) ~= 34 or string.find(raw, quoted, at + 1, true) then return nil end
            local _, _, value = string.find(raw, '^%s*:%s*"([^"\\\\]*)"', at + #quoted)
            return value
        end
        local scores, entries = {}, {}
        local function flushRecords()
            -- unpack is bounded by Lua's C stack (8,000 slots): 1,000 values per call.
            for first = 1, #scores, 1000 do
                local last = math.min(first + 999, #scores)
                redis.call('ZADD', KEYS[2], unpack(scores, first, last))
                redis.call('HSET', KEYS[1], unpack(entries, first, last))
            end
            scores, entries = {}, {}
        end
        local function record(raw, queue)
            local ok, tag = true, unique(raw, 'delivery_tag')
            local exchange, routingKey = unique(raw, 'exchange'), unique(raw, 'routing_key')
            if not (tag and exchange and routingKey) then
                local envelope
                ok, envelope = pcall(cjson.decode, raw)
                tag, exchange, routingKey = nil, '', queue
                if ok and type(envelope) == 'table' and type(envelope.properties) == 'table' then
                    local properties = envelope.properties
                    if type(properties.delivery_tag) == 'string' then tag = properties.delivery_tag end
                    local info = properties.delivery_info
                    if type(info) == 'table' then
                        if type(info.exchange) == 'string' then exchange = info.exchange end
                        if type(info.routing_key) == 'string' then routingKey = info.routing_key end
                    end
                end
            end
            if tag then
                scores[#scores + 1] = ARGV[1]
                scores[#scores + 1] = tag
                entries[#entries + 1] = tag
                entries[#entries + 1] = '[' .. raw .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routingKey) .. ']'
                return {1, raw, tag}
            end
            local reason = 'the message has no properties.delivery_tag'
            if not ok then reason = 'the message is not valid JSON' end
            redis.call('LPUSH', KEYS[3], cjson.encode({reason = reason, queue = queue, message = raw,
                time = tonumber(ARGV[1]), worker = ARGV[2]}))
            return {0, raw, reason}
        end

        """

    /// Pops up to ARGV[3] messages from the lists KEYS[5...] in order and records each (see
    /// `recordFunction`). ARGV[2] worker name; ARGV[7...] the queue name of each list.
    ///
    /// Sizes are checked here, before a byte leaves Redis: a message longer than ARGV[4] bytes
    /// (when not empty) goes to the dead-letter list whole, and its reply entry is
    /// `{listIndex, 0, '', reason, taskID, taskName}` (id and name found by `unique` in the
    /// envelope's plain headers, `''` when not found), so a fetch reply stays within the fetch
    /// connection's reply limit. Popping stops once the recorded messages hold ARGV[6] bytes (when
    /// not empty; at least one message is always taken): the rest of a popped batch goes back to
    /// the end it came from, in order.
    ///
    /// Idempotent per request: a summary of the reply is also saved under KEYS[4] (the key of the
    /// fetch loop's chain of requests, replacing the previous request's), after ARGV[5]'s request
    /// id and a newline, and a request repeated with the same id gets the same reply instead of
    /// popping again. So a reply lost with the connection (Redis restarting after running the
    /// script) is fetched again, not left in `unacked` until the visibility timeout. The summary
    /// holds each recorded message's tag and length (its envelope is cut back out of its `unacked`
    /// entry, `[raw, exchange, routing key]`; one gone meanwhile, restored by a sweep, is left
    /// out), and dead-lettered messages whole. Returns `{{listIndex, recorded, raw, tagOrReason}...}`
    /// (listIndex counts from 1).
    static let fetch = RedisScript(
        recordFunction + """
            local saved, request = redis.call('GET', KEYS[4]), ARGV[5] .. '\\n'
            if saved and string.sub(saved, 1, #request) == request then
                local out = {}
                for _, entry in ipairs(cjson.decode(string.sub(saved, #request + 1))) do
                    if entry[2] == 1 then
                        local value = redis.call('HGET', KEYS[1], entry[3])
                        if value then out[#out + 1] = {entry[1], 1, string.sub(value, 2, entry[4] + 1), entry[3]} end
                    else
                        out[#out + 1] = entry
                    end
                end
                return out
            end
            local limit, maxSize, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
            local out, summary, bytes = {}, {}, 0
            for i = 5, #KEYS do
                if #out >= limit or (budget and bytes >= budget) then break end
                local popped = redis.call('RPOP', KEYS[i], limit - #out)
                if popped then
                    for n, raw in ipairs(popped) do
                        if budget and bytes >= budget then
                            for back = #popped, n, -1 do redis.call('RPUSH', KEYS[i], popped[back]) end
                            break
                        end
                        if maxSize and #raw > maxSize then
                            local reason = 'the message is ' .. #raw .. ' bytes, more than the maximum of ' .. maxSize
                            local id, task = unique(raw, 'correlation_id') or '', unique(raw, 'task') or ''
                            redis.call('LPUSH', KEYS[3], cjson.encode({reason = reason, queue = ARGV[i + 2], message = raw,
                                time = tonumber(ARGV[1]), worker = ARGV[2], task_id = id, task = task}))
                            out[#out + 1] = {i - 4, 0, '', reason, id, task}
                            summary[#summary + 1] = out[#out]
                        else
                            local result = record(raw, ARGV[i + 2])
                            out[#out + 1] = {i - 4, result[1], result[2], result[3]}
                            if result[1] == 1 then
                                summary[#summary + 1] = {i - 4, 1, result[3], #raw}
                                bytes = bytes + #raw
                            else
                                summary[#summary + 1] = out[#out]
                            end
                        end
                    end
                end
            end
            flushRecords()
            if #out > 0 then redis.call('SET', KEYS[4], request .. cjson.encode(summary), 'PX', 600000) end
            return out
            """)

    /// Records one message already popped by BRPOP: ARGV[3] the message, ARGV[4] its queue.
    /// Returns `{recorded, '', tagOrReason}`: the caller has the message, so it is not sent back.
    static let adopt = RedisScript(
        recordFunction + """
            local result = record(ARGV[3], ARGV[4])
            flushRecords()
            return {result[1], '', result[3]}
            """)

    /// Moves an unacked message into the scheduled set until its ETA, if this consumer still owns
    /// it. KEYS[1] unacked, KEYS[2] unacked_index, KEYS[3] scheduled, KEYS[4] scheduled messages;
    /// ARGV[1] tag, ARGV[2] ETA (epoch s), ARGV[3] list key to return to, ARGV[4] envelope.
    /// Returns 1 if moved, 0 if the entry was gone (restored by a sweep: the other copy runs).
    static let park = RedisScript(
        """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        redis.call('HSET', KEYS[4], ARGV[1], string.len(ARGV[3]) .. ':' .. ARGV[3] .. ARGV[4])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        return 1
        """)

    /// Pushes due scheduled messages (score ≤ ARGV[1]) back to the front of their lists, at most
    /// ARGV[2] of them. KEYS[1] scheduled, KEYS[2] scheduled messages.
    /// Returns `{moved, next ETA or false}`.
    static let promote = RedisScript(
        """
        local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
        for _, tag in ipairs(due) do
            local value = redis.call('HGET', KEYS[2], tag)
            if value then
                local colon = string.find(value, ':', 1, true)
                local length = tonumber(string.sub(value, 1, colon - 1))
                local list = string.sub(value, colon + 1, colon + length)
                redis.call('RPUSH', list, string.sub(value, colon + length + 1))
                redis.call('HDEL', KEYS[2], tag)
            end
            redis.call('ZREM', KEYS[1], tag)
        end
        local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        return {#due, first[2] or false}
        """)

    /// Puts an unacked message back on a list and removes its entry, if the entry still holds
    /// ARGV[3] (or any value when ARGV[3] is empty): kombu's restore/requeue transaction.
    /// KEYS[1] unacked, KEYS[2] unacked_index, KEYS[3] the list; ARGV[1] tag, ARGV[2] envelope to
    /// push, ARGV[4] `front` (RPUSH: served next) or `back` (LPUSH). Returns 1 if pushed.
    static let restore = RedisScript(
        """
        local current = redis.call('HGET', KEYS[1], ARGV[1])
        if not current then
            redis.call('ZREM', KEYS[2], ARGV[1])
            return 0
        end
        if ARGV[3] ~= '' and current ~= ARGV[3] then return 0 end
        if ARGV[4] == 'front' then
            redis.call('RPUSH', KEYS[3], ARGV[2])
        else
            redis.call('LPUSH', KEYS[3], ARGV[2])
        end
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        return 1
        """)

    /// Moves an unacked message to the dead-letter list: KEYS[1] unacked, KEYS[2] unacked_index,
    /// KEYS[3] dead letter; ARGV[1] tag, ARGV[2] the dead-letter entry.
    static let deadLetter = RedisScript(
        """
        redis.call('LPUSH', KEYS[3], ARGV[2])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('HDEL', KEYS[1], ARGV[1])
        return 1
        """)

    /// kombu's compare-and-delete of the sweep mutex: KEYS[1] mutex, ARGV[1] our token.
    static let releaseMutex = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)
}
