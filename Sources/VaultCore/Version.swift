public enum VaultCoreVersion { public static let format = 1 }
