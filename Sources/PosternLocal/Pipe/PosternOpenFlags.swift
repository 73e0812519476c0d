/// Open flags Swift's Glibc module does not export (they sit behind
/// `_GNU_SOURCE`).
enum PosternOpenFlags {
    /// O_PATH: a descriptor that only names a file, for fstat and as the
    /// directory of *at calls; it needs search permission on the way, not
    /// read permission on the file. 010000000 on every Linux architecture
    /// Swift supports (x86_64, aarch64, riscv64, s390x, ppc64le).
    static let path: Int32 = 0o10000000
}
