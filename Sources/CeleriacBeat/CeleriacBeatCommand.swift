import Celeriac
import Foundation

/// `celeriac-beat`: sends periodic tasks from a schedule file; safe to run as several replicas.
@main
struct CeleriacBeatCommand {
    static func main() async {
        exit(await BeatCommand.run(program: "celeriac-beat"))
    }
}
