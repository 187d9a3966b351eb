/// Runs the operations concurrently and returns when the first one returns; the others are
/// cancelled (each must return promptly when cancelled).
func firstOf(_ operations: (@Sendable () async -> Void)...) async {
    await withTaskGroup(of: Void.self) { group in
        for operation in operations { group.addTask { await operation() } }
        await group.next()
        group.cancelAll()
    }
}
