/// Celery's built-in canvas tasks that a Celeriac worker runs itself: `celery.map` and
/// `celery.starmap` (sent by `task.map(...)`, `task.starmap(...)` and `task.chunks(...)`) call a
/// registered task once per item, in-process, and return the list of results (protocol 4.7).
enum CanvasBuiltins {
    /// The built-in task `name` over `registry`, or `nil` when `name` is not a built-in.
    static func task(_ name: String, registry: TaskRegistry) -> RegisteredTask? {
        switch name {
        case "celery.map": return RegisteredTask(name: name, settings: TaskSettings(), handler: handler(registry, star: false))
        case "celery.starmap": return RegisteredTask(name: name, settings: TaskSettings(), handler: handler(registry, star: true))
        default: return nil
        }
    }

    private static func handler(
        _ registry: TaskRegistry, star: Bool
    ) -> @Sendable ([JSONValue], JSONObject, TaskContext) async throws -> JSONValue {
        { _, kwargs, context in
            guard let value = kwargs["task"], let signature = try? Signature(value), let items = kwargs["it"]?.arrayValue else {
                let name = star ? "starmap" : "map"
                throw TaskFailure(type: "TypeError", message: "celery.\(name)() needs 'task' (a signature) and 'it' (a list)")
            }
            guard let target = registry[signature.task] else {
                throw TaskFailure(type: "NotRegistered", module: "celery.exceptions", message: signature.task)
            }
            var results: [JSONValue] = []
            results.reserveCapacity(items.count)
            for item in items {
                try Task.checkCancellation()
                let itemArgs = star ? (item.arrayValue ?? [item]) : [item]
                let args = signature.immutable ? signature.args : itemArgs + signature.args
                results.append(try await target.handler(args, signature.kwargs, context))
            }
            return .array(results)
        }
    }
}

extension Worker {
    /// The task to run for `name`: a registered one, else a canvas built-in.
    func registeredTask(_ name: String) -> RegisteredTask? {
        registry[name] ?? CanvasBuiltins.task(name, registry: registry)
    }
}
