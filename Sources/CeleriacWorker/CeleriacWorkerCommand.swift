import Celeriac
import Foundation

/// `celeriac-worker`: a Celeriac worker with the example tasks (`celeriac.examples.*`).
@main
struct CeleriacWorkerCommand {
    static func main() async {
        let status = await WorkerCommand.run(program: "celeriac-worker") { registry in
            ExampleTasks.register(in: registry)
        }
        exit(status)
    }
}
