import Celeriac

/// `celeriac-worker`: a Celeriac worker with the example tasks (`celeriac.examples.*`).
@main
struct CeleriacWorkerCommand {
    static func main() async {
        await WorkerCommand.main(program: "celeriac-worker") { registry in
            ExampleTasks.register(in: registry)
        }
    }
}
