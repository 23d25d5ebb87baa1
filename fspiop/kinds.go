package fspiop

import "github.com/hutong/hutong/callback"

// The endpoint kinds the hub sends to, by Mojaloop's names.
const (
	kindPartiesGet            callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_GET"
	kindPartiesPut            callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_PUT"
	kindPartiesPutError       callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_PUT_ERROR"
	kindPartiesSubGet         callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_GET"
	kindPartiesSubPut         callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_PUT"
	kindPartiesSubPutError    callback.Kind = "FSPIOP_CALLBACK_URL_PARTIES_SUB_ID_PUT_ERROR"
	kindParticipantPut        callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT"
	kindParticipantPutError   callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_PUT_ERROR"
	kindParticipantSubPut     callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_SUB_ID_PUT"
	kindParticipantSubPutErr  callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_SUB_ID_PUT_ERROR"
	kindParticipantBatchPut   callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_BATCH_PUT"
	kindParticipantBatchError callback.Kind = "FSPIOP_CALLBACK_URL_PARTICIPANT_BATCH_PUT_ERROR"
	kindQuotes                callback.Kind = "FSPIOP_CALLBACK_URL_QUOTES"
	kindTransactionRequests   callback.Kind = "FSPIOP_CALLBACK_URL_TRX_REQ_SERVICE"
	kindTransferPost          callback.Kind = "FSPIOP_CALLBACK_URL_TRANSFER_POST"
	kindTransferPut           callback.Kind = "FSPIOP_CALLBACK_URL_TRANSFER_PUT"
	kindTransferError         callback.Kind = "FSPIOP_CALLBACK_URL_TRANSFER_ERROR"
	kindTransferPatch         callback.Kind = "FSPIOP_CALLBACK_URL_TRANSFER_PATCH"
)
