extension CeleriacApp {
    /// Applies a canvas – a task signature, chain, group or chord – as Celery's `apply_async`
    /// does, so Python and Celeriac workers can run (and continue) it.
    ///
    /// ```swift
    /// let add = Signature(task: "celeriac.examples.add")
    /// let sum = Signature(task: "celeriac.examples.xsum")
    /// let chord = Signature.chord((1...100).map { add.clone(adding: [$0, $0]) }, body: sum)
    /// let total = try await app.apply(chord).get(timeout: .seconds(30))   // 10100
    /// ```
    /// - Parameters:
    ///   - args: added in front of the first task's arguments (every member's, for a group or
    ///     a chord header), unless it is immutable.
    ///   - kwargs: merged over them.
    /// - Throws: ``CeleriacError`` `invalidCanvas` for a canvas that cannot be applied (nothing is
    ///   sent then); ``RedisClientError``/``RedisServerError`` when Redis fails (chord sizes are
    ///   written before any message, so a failure leaves no header task without its chord).
    @discardableResult
    public func apply(
        _ canvas: some CanvasConvertible, args: [JSONValue] = [], kwargs: JSONObject = [:]
    ) async throws -> CanvasResult {
        let plan = try canvasPlan(canvas, args: args, kwargs: kwargs)
        try await publish(plan)
        return CanvasResult(plan.result, backend: backend)
    }

    /// The messages applying `canvas` would publish, without publishing them.
    /// - Throws: ``CeleriacError`` `invalidCanvas`.
    public func canvasPlan(
        _ canvas: some CanvasConvertible, args: [JSONValue] = [], kwargs: JSONObject = [:]
    ) throws -> CanvasPlan {
        try CanvasPlan(applying: canvas, args: args, kwargs: kwargs, origin: origin, replyTo: replyTo)
    }

    /// Publishes a plan: chord sizes to the backend first, then the messages in one pipeline.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func publish(_ plan: CanvasPlan) async throws {
        try await backend.chords.setSizes(plan.chordSizes)
        try await broker.publish(plan.messages)
        await publishSentEvents(for: plan.messages)
    }
}
