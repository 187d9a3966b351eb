import Celeriac
import CeleriacExamples
import Foundation

/// `celeriac-worker`: a Celeriac worker with the example tasks (`celeriac.examples.*`) and the job tasks (`celeriac.jobs.map`, `celeriac.jobs.reduce`).
@main
struct CeleriacWorkerCommand {
    static func main() async {
        let status = await WorkerCommand.run(program: "celeriac-worker") { registry in
            try ExampleTasks.register(in: registry)
            try JobTasks.register(in: registry)
        }
        exit(status)
    }
}
