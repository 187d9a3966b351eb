/// Default options: a task's own (``CeleriacTask/defaultOptions``) and an app's routes
/// (``CeleriacApp/routes``), under the options of each send, as Celery's task attributes and
/// `task_routes` sit under `apply_async`'s arguments.
extension TaskOptions {
    /// These options with every unset default-able field taken from `defaults`: queue, priority,
    /// countdown, eta, expiry, `ignoreResult`, time limits, shadow, callbacks (when none are set
    /// here) and headers (key by key, these winning). The task id and the workflow fields
    /// (root, parent, group, retries) belong to one send and are never taken.
    public func filling(from defaults: TaskOptions?) -> TaskOptions {
        guard let defaults else { return self }
        var filled = self
        filled.queue = queue ?? defaults.queue
        filled.priority = priority ?? defaults.priority
        if countdown == nil && eta == nil {
            filled.countdown = defaults.countdown
            filled.eta = defaults.eta
        }
        filled.expires = expires ?? defaults.expires
        filled.ignoreResult = ignoreResult ?? defaults.ignoreResult
        filled.timeLimit = timeLimit ?? defaults.timeLimit
        filled.softTimeLimit = softTimeLimit ?? defaults.softTimeLimit
        filled.shadow = shadow ?? defaults.shadow
        if link.isEmpty { filled.link = defaults.link }
        if linkError.isEmpty { filled.linkError = defaults.linkError }
        filled.headers = defaults.headers
        for (key, value) in headers { filled.headers[key] = value }
        return filled
    }
}
