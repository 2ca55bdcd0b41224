import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The terminal as help sees it.
enum Terminal {
    /// The narrowest width help is rendered for. Every example in the help fits it (a test
    /// renders each command's help at 80 columns and checks that no example line is broken).
    static let helpWidth = 80

    /// Makes ArgumentParser render help at least `helpWidth` columns wide. Why: it wraps the help
    /// text at the terminal's width, and an example broken mid-command no longer works when
    /// copied. On a narrower terminal the longer lines are wrapped by the terminal itself, for
    /// display only, and copy whole.
    static func setHelpWidth() {
        if let value = getenv("COLUMNS"), let columns = Int(String(cString: value)), columns >= helpWidth { return }
        if getenv("COLUMNS") == nil {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, Int(size.ws_col) >= helpWidth { return }
        }
        setenv("COLUMNS", String(helpWidth), 1)
    }
}
