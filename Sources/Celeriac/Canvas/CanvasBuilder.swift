import Foundation

/// Turns a canvas into the messages Celery 5.7 would publish for it (protocol sections 4.3-4.7):
/// chains travel in `embed.chain` (reversed, frozen), group members carry the group id and index,
/// chord header tasks carry the frozen body in `embed.chord`. Pure: nothing is sent; the producer
/// and the worker (continuing a chain, firing a chord body) publish the resulting ``CanvasPlan``.
struct CanvasBuilder {
    /// Where a signature is applied: who caused it and what it belongs to.
    struct Context {
        var parentID: String?
        var rootID: String?
        /// The group it is a member of (and its position).
        var groupID: String?
        var groupIndex: Int?
        /// The frozen body of the chord whose header it is part of.
        var chord: JSONValue?
        /// The rest of the chain to carry (reversed: the next step last).
        var chain: [JSONValue]?
    }

    let origin: String
    let replyTo: String
    var now = Date()
    var newID: () -> String = { CeleryID.random() }
    private(set) var plan = CanvasPlan()

    init(origin: String, replyTo: String) {
        self.origin = origin
        self.replyTo = replyTo
    }

    /// Builds the plan for applying `signature` with `args`/`kwargs` added in front (unless immutable).
    /// - Throws: ``CeleriacError`` `invalidCanvas` for a canvas Celeriac cannot apply (an empty
    ///   chain, a group or chord inside a chord header, a group as a chord body).
    static func plan(
        _ signature: Signature, args: [JSONValue] = [], kwargs: JSONObject = [:], context: Context = Context(),
        origin: String, replyTo: String
    ) throws -> CanvasPlan {
        var builder = CanvasBuilder(origin: origin, replyTo: replyTo)
        builder.plan.result = try builder.apply(signature, args: args, kwargs: kwargs, context: context)
        return builder.plan
    }

    /// Adds the messages of `signature` to the plan and returns its result shape.
    mutating func apply(
        _ signature: Signature, args: [JSONValue], kwargs: JSONObject, context: Context
    ) throws -> CanvasPlan.Node {
        switch Kind(signature) {
        case .task: return try applyTask(signature, args: args, kwargs: kwargs, context: context)
        case .chain: return try applyChain(signature, args: args, kwargs: kwargs, context: context)
        case .group: return try applyGroup(signature, args: args, kwargs: kwargs, context: context)
        case .chord: return try applyChord(signature, args: args, kwargs: kwargs, context: context)
        }
    }

    enum Kind {
        case task, chain, group, chord

        init(_ signature: Signature) {
            switch signature.subtaskType ?? signature.task {
            case "chain", "celery.chain": self = .chain
            case "group", "celery.group": self = .group
            case "chord", "celery.chord": self = .chord
            default: self = .task
            }
        }
    }

    // MARK: - Task

    private mutating func applyTask(
        _ signature: Signature, args: [JSONValue], kwargs: JSONObject, context: Context
    ) throws -> CanvasPlan.Node {
        let (callArgs, callKwargs) = signature.arguments(adding: args, kwargs)
        var options = try signature.taskOptions
        options.taskID = options.taskID ?? newID()
        if let groupID = context.groupID {
            options.groupID = groupID
            options.groupIndex = context.groupIndex
        }
        if let parentID = context.parentID { options.parentID = parentID }
        if let rootID = context.rootID { options.rootID = rootID }
        var message = TaskMessage(
            task: signature.task, args: callArgs, kwargs: callKwargs, options: options, origin: origin,
            replyTo: replyTo, now: now)
        if let chain = context.chain ?? signature.options["chain"]?.arrayValue { message.embed["chain"] = .array(chain) }
        if let chord = context.chord ?? signature.options["chord"], chord != .null { message.embed["chord"] = chord }
        plan.messages.append(message)
        return .task(message.id)
    }

    // MARK: - Chain

    /// Celery's `chain.run` + `prepare_steps`: nested chains spliced in, a group followed by a
    /// step upgraded to a chord, every later step frozen into the first message's `embed.chain`.
    private mutating func applyChain(
        _ signature: Signature, args: [JSONValue], kwargs: JSONObject, context: Context
    ) throws -> CanvasPlan.Node {
        var steps = try Self.flattenedSteps(of: signature)
        guard !steps.isEmpty else { throw CeleriacError(.invalidCanvas, "a chain needs at least one step") }
        let errbacks = Signature.signatureList(signature.options["link_error"])
        for index in steps.indices where !errbacks.isEmpty {
            steps[index].options["link_error"] = .array(Self.list(steps[index].options["link_error"]) + errbacks)
        }
        let last = steps.count - 1
        if let links = signature.options["link"] {
            steps[last].options["link"] = .array(Self.list(steps[last].options["link"]) + Self.list(links))
        }
        if let lastID = signature.id { steps[last].options["task_id"] = .string(lastID) }

        // Walk from the last step, as Celery does: a group with a step after it becomes a chord.
        var frozen: [Signature] = []  // last step first
        var lastResult: CanvasPlan.Node?
        for position in steps.indices.reversed() {
            var step = steps[position]
            if Kind(step) == .group, let body = frozen.popLast() {
                step = Signature(
                    task: "celery.chord", kwargs: ["kwargs": [:], "header": step.jsonValue, "body": body.jsonValue],
                    subtaskType: "chord")
            }
            guard position == 0 else {
                let (frozenStep, node) = try freeze(step, asLastOf: frozen.isEmpty ? context : nil)
                if frozen.isEmpty { lastResult = node }
                frozen.append(frozenStep)
                continue
            }
            // The first step is applied now; the frozen rest rides along with it.
            var stepContext = Context(parentID: context.parentID, rootID: context.rootID)
            if frozen.isEmpty {
                stepContext.groupID = context.groupID
                stepContext.groupIndex = context.groupIndex
                stepContext.chord = context.chord
                stepContext.chain = context.chain
            } else {
                stepContext.chain = (context.chain ?? []) + frozen.map(\.jsonValue)
            }
            let node = try apply(step, args: args, kwargs: kwargs, context: stepContext)
            return frozen.isEmpty ? node : (lastResult ?? node)
        }
        throw CeleriacError(.invalidCanvas, "a chain needs at least one step")
    }

    /// The steps of a chain with nested chains spliced in.
    private static func flattenedSteps(of signature: Signature) throws -> [Signature] {
        var steps: [Signature] = []
        for value in signature.kwargs["tasks"]?.arrayValue ?? [] {
            let step = try Signature(value)
            if Kind(step) == .chain {
                steps.append(contentsOf: try flattenedSteps(of: step))
            } else {
                steps.append(step)
            }
        }
        return steps
    }

    /// Assigns ids to a step that is sent later (by the worker finishing the step before it), as
    /// Celery's `freeze` does, so its result can be waited on now. The chain's last step also takes
    /// the chain's group membership and chord (`asLastOf`).
    private mutating func freeze(_ step: Signature, asLastOf context: Context?) throws -> (Signature, CanvasPlan.Node) {
        var step = step
        switch Kind(step) {
        case .task:
            if step.id == nil { step.options["task_id"] = .string(newID()) }
            step.options["reply_to"] = .string(replyTo)
            if let context {
                if let groupID = context.groupID {
                    step.options["group_id"] = .string(groupID)
                    step.options["group_index"] = context.groupIndex.map(JSONValue.integer) ?? .null
                }
                if let chord = context.chord { step.options["chord"] = chord }
            }
            return (step, .task(step.id ?? ""))
        case .group:
            if context?.chord != nil {
                throw CeleriacError(.invalidCanvas, "a group cannot end a chain inside a chord header")
            }
            let groupID = step.id ?? newID()
            step.options["task_id"] = .string(groupID)
            var members: [JSONValue] = []
            var nodes: [CanvasPlan.Node] = []
            for (index, member) in try Self.groupMembers(of: step).enumerated() {
                let (frozenMember, node) = try freeze(member, asLastOf: Context(groupID: groupID, groupIndex: index))
                members.append(frozenMember.jsonValue)
                nodes.append(node)
            }
            step.kwargs["tasks"] = .array(members)
            return (step, .group(id: groupID, members: nodes))
        case .chord:
            if context?.chord != nil || context?.groupID != nil {
                throw CeleriacError(.invalidCanvas, "a chord cannot end a chain inside a group or chord header")
            }
            var header = try Self.chordHeader(of: step)
            let groupID = header.id ?? step.id ?? newID()
            step.options["task_id"] = .string(groupID)
            header.options["task_id"] = .string(groupID)
            header.options["root_id"] = .null
            header.options["parent_id"] = .null
            var members: [JSONValue] = []
            var nodes: [CanvasPlan.Node] = []
            for (index, value) in (try Self.headerMembers(of: header)).enumerated() {
                var member = value
                if member.id == nil { member.options["task_id"] = .string(newID()) }
                member.options["reply_to"] = .string(replyTo)
                member.options["group_index"] = .integer(index)
                members.append(member.jsonValue)
                nodes.append(.task(member.id ?? ""))
            }
            header.kwargs["tasks"] = .array(members)
            var body = try Signature(step.kwargs["body"] ?? .null)
            if body.id == nil { body.options["task_id"] = .string(newID()) }
            body.options["reply_to"] = .string(replyTo)
            step.kwargs["header"] = header.jsonValue
            step.kwargs["body"] = body.jsonValue
            return (step, .chord(body: body.id ?? "", header: .group(id: groupID, members: nodes)))
        case .chain:
            throw CeleriacError(.invalidCanvas, "nested chains are spliced before freezing")
        }
    }

    // MARK: - Group

    /// Celery's `group.apply_async`: one message per member (nested groups unrolled), each with
    /// the group id and its index; a member chain carries them on its last step.
    private mutating func applyGroup(
        _ signature: Signature, args: [JSONValue], kwargs: JSONObject, context: Context
    ) throws -> CanvasPlan.Node {
        if context.chord != nil {
            throw CeleriacError(.invalidCanvas, "a group inside a chord header is not supported; list its tasks in the header")
        }
        let groupID = signature.id ?? newID()
        let shared = Self.sharedOptions(signature.options)
        var nodes: [CanvasPlan.Node] = []
        for (index, var member) in try Self.groupMembers(of: signature).enumerated() {
            for (key, value) in shared where member.options[key] == nil { member.options[key] = value }
            let memberContext = Context(
                parentID: context.parentID, rootID: context.rootID, groupID: groupID, groupIndex: index)
            nodes.append(try apply(member, args: args, kwargs: kwargs, context: memberContext))
        }
        return .group(id: groupID, members: nodes)
    }

    /// A group's members, nested groups unrolled in place (as Celery does).
    private static func groupMembers(of group: Signature) throws -> [Signature] {
        var members: [Signature] = []
        for value in group.kwargs["tasks"]?.arrayValue ?? [] {
            let member = try Signature(value)
            if Kind(member) == .group {
                members.append(contentsOf: try groupMembers(of: member))
            } else {
                members.append(member)
            }
        }
        return members
    }

    /// Options of a group or chord that each member takes (routing, priority, timing), not its
    /// identity or callbacks.
    private static func sharedOptions(_ options: JSONObject) -> JSONObject {
        let own: Set<String> = [
            "task_id", "link", "link_error", "chain", "chord", "group_id", "group_index", "root_id", "parent_id", "reply_to",
        ]
        return JSONObject(options.filter { !own.contains($0.key) }.map { ($0.key, $0.value) })
    }

    // MARK: - Chord

    /// Celery's `chord.run` on the Redis backend: the body frozen with the group id, the size
    /// written first, then one message per header task carrying the body in `embed.chord`.
    private mutating func applyChord(
        _ signature: Signature, args: [JSONValue], kwargs: JSONObject, context: Context
    ) throws -> CanvasPlan.Node {
        let header = try Self.chordHeader(of: signature)
        let members = try Self.headerMembers(of: header)
        let groupID = header.id ?? signature.id ?? newID()
        var body = try Signature(signature.kwargs["body"] ?? .null)
        var bodyRest: [JSONValue] = []  // the rest of a chain body, last step first
        if Kind(body) == .chain {
            // chord(header, chain(a, b)): the body is `a`, carrying `b` as its chain.
            let steps = try Self.flattenedSteps(of: body)
            guard let first = steps.first else { throw CeleriacError(.invalidCanvas, "a chord body chain needs a step") }
            var rest: [JSONValue] = []
            for step in steps.dropFirst().reversed() {
                guard Kind(step) == .task else {
                    throw CeleriacError(.invalidCanvas, "a chord body chain may hold plain tasks only")
                }
                var frozenStep = step
                if frozenStep.id == nil { frozenStep.options["task_id"] = .string(newID()) }
                frozenStep.options["reply_to"] = .string(replyTo)
                rest.append(frozenStep.jsonValue)
            }
            bodyRest = rest
            body = first
        }
        guard Kind(body) == .task else {
            throw CeleriacError(.invalidCanvas, "a chord body must be a task or a chain of tasks, not a \(Kind(body))")
        }
        if body.id == nil { body.options["task_id"] = .string(newID()) }
        body.options["reply_to"] = .string(replyTo)
        if context.chain != nil || !bodyRest.isEmpty { body.options["chain"] = .array((context.chain ?? []) + bodyRest) }
        if let rootID = context.rootID { body.options["root_id"] = .string(rootID) }
        body.options["group_id"] = .string(groupID)
        let links = Self.list(signature.options["link"])
        if !links.isEmpty { body.options["link"] = .array(Self.list(body.options["link"]) + links) }
        let errbacks = Self.list(signature.options["link_error"])
        if !errbacks.isEmpty { body.options["link_error"] = .array(Self.list(body.options["link_error"]) + errbacks) }
        let resultID = bodyRest.first.flatMap { try? Signature($0).id } ?? body.id ?? ""

        guard !members.isEmpty else {
            // Nothing to wait for: the body runs at once with an empty list.
            let bodyContext = Context(parentID: context.parentID, rootID: context.rootID)
            _ = try applyTask(body, args: [.array([])], kwargs: [:], context: bodyContext)
            return .chord(body: resultID, header: .group(id: groupID, members: []))
        }
        for member in members where Kind(member) == .chord {
            throw CeleriacError(.invalidCanvas, "a chord inside a chord header is not supported yet")
        }
        plan.chordSizes.append(.init(groupID: groupID, size: members.count))
        let shared = Self.sharedOptions(signature.options)
        var nodes: [CanvasPlan.Node] = []
        for (index, var member) in members.enumerated() {
            for (key, value) in shared where member.options[key] == nil { member.options[key] = value }
            let memberContext = Context(
                parentID: context.parentID, rootID: context.rootID, groupID: groupID, groupIndex: index,
                chord: body.jsonValue)
            nodes.append(try apply(member, args: args, kwargs: kwargs, context: memberContext))
        }
        return .chord(body: resultID, header: .group(id: groupID, members: nodes))
    }

    /// A chord header's members, as given: a nested group stays one member (and is refused when
    /// applied), since Celery hands the body nested results for it.
    private static func headerMembers(of header: Signature) throws -> [Signature] {
        try (header.kwargs["tasks"]?.arrayValue ?? []).map { try Signature($0) }
    }

    /// A chord's header as a group signature (it may be sent as a plain list or as a group).
    private static func chordHeader(of chord: Signature) throws -> Signature {
        switch chord.kwargs["header"] {
        case .array(let tasks)?:
            return Signature(task: "celery.group", kwargs: ["tasks": .array(tasks)], subtaskType: "group")
        case .object?:
            let header = try Signature(chord.kwargs["header"] ?? .null)
            guard Kind(header) == .group else {
                return Signature(task: "celery.group", kwargs: ["tasks": [header.jsonValue]], subtaskType: "group")
            }
            return header
        default:
            throw CeleriacError(.invalidCanvas, "a chord needs a header (a list of signatures or a group)")
        }
    }

    private static func list(_ value: JSONValue?) -> [JSONValue] { Signature.signatureList(value) }
}
