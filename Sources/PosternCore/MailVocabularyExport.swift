/// The vocabulary was part of PosternCore; every module that imports it
/// keeps seeing replies, DSN types and the rest without a second import.
@_exported import MailVocabulary
