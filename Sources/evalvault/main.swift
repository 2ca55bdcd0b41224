import VaultCore
@main struct Main { static func main() {} }
