import PosternIPC

/// The recipients of one message that one worker delivers: a job for that
/// worker and the message's descriptor, which is passed with it. The
/// machine carries the descriptor without using it; whoever handed the
/// part in closes it once every part of the message has its outcomes.
struct LocalPart: Equatable {
    var id: PartID
    var key: WorkerKey
    var job: DeliveryJob
    var messageFD: Int32
}
