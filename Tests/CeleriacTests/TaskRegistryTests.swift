import Celeriac
import Testing

/// Registration: one handler per name.
@Suite struct TaskRegistryTests {
    @Test func registeringANameTwiceIsAnErrorAndKeepsTheFirst() throws {
        let registry = TaskRegistry()
        try registry.register("reports.build", settings: TaskSettings(acksLate: true)) { _, _, _ in .integer(1) }
        let error = #expect(throws: TaskRegistryError.self) {
            try registry.register("reports.build") { _, _, _ in .integer(2) }
        }
        #expect(error == .alreadyRegistered("reports.build"))
        #expect(error?.description.contains("'reports.build' is registered already") == true)
        #expect(registry["reports.build"]?.settings.acksLate == true)
        // The typed form refuses the same way, and so does a second set of the examples.
        #expect(throws: TaskRegistryError.alreadyRegistered(Add.name)) {
            try ExampleTasks.register(in: registry)
            try registry.register(Add.self) { arguments, _ in arguments.x + arguments.y }
        }
        #expect(throws: TaskRegistryError.self) { try ExampleTasks.register(in: registry) }
        #expect(registry.names.count == 8)
    }
}
