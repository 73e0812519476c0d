/// The version `postern --version` and `postern status` print; raised with
/// each issue that lands (the project's releases are its issues).
public enum PosternVersion {
    public static let current = "0.15.0-dev"
}
