/// The protocol speaks the shared mail vocabulary (replies, DSN requests,
/// body types, privacy flags): whoever drives the machine sees it too.
@_exported import MailVocabulary
