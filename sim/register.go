package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// singleRegisterMax is the most customers Register registers one by one;
// more go in batches of Config.RegisterBatch.
const singleRegisterMax = 10

// Register registers the aliases of all the FSP's customers with the hub:
// one POST /participants/{Type}/{ID} each, waiting for the hub's
// PUT /participants/{Type}/{ID}, when there are at most 10 customers; else
// POST /participants with up to Config.RegisterBatch aliases and a
// requestId, waiting for PUT /participants/{requestId}. It stops at the
// first alias the hub refuses, with an *Error of phase PhaseRegister.
func (f *FSP) Register(ctx context.Context) error {
	if f.isClosed() {
		return ErrClosed
	}
	if len(f.customers) <= singleRegisterMax {
		for _, c := range f.customers {
			if err := f.registerOne(ctx, c.party); err != nil {
				return err
			}
		}
		return nil
	}
	for start := 0; start < len(f.customers); start += f.cfg.RegisterBatch {
		end := min(start+f.cfg.RegisterBatch, len(f.customers))
		if err := f.registerBatch(ctx, f.customers[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (f *FSP) registerOne(ctx context.Context, p Party) error {
	body, err := json.Marshal(participantsPost{FspID: f.id, Currency: f.cur.Code})
	if err != nil {
		return err
	}
	key := "p:" + p.String()
	w := f.register(key)
	defer f.unregister(key)
	if err := f.send(ctx, PhaseRegister, http.MethodPost, "participants", partyPath("participants", p), f.cfg.HubID, body); err != nil {
		return err
	}
	cb, err := f.wait(ctx, PhaseRegister, w)
	if err != nil {
		return err
	}
	if got := cb.val.(*participantsPut).FspID; got != f.id {
		return &Error{Phase: PhaseRegister, Description: fmt.Sprintf("the hub says %s belongs to %q", p, got), Err: ErrUnexpected}
	}
	return nil
}

func (f *FSP) registerBatch(ctx context.Context, cs []*customer) error {
	req := participantsBatchPost{RequestID: newID(), Currency: f.cur.Code, PartyList: make([]PartyIDInfo, len(cs))}
	for i, c := range cs {
		req.PartyList[i] = c.party.idInfo(f.id)
	}
	body, err := json.Marshal(&req)
	if err != nil {
		return err
	}
	key := "b:" + req.RequestID
	w := f.register(key)
	defer f.unregister(key)
	if err := f.send(ctx, PhaseRegister, http.MethodPost, "participants", "/participants", f.cfg.HubID, body); err != nil {
		return err
	}
	cb, err := f.wait(ctx, PhaseRegister, w)
	if err != nil {
		return err
	}
	put := cb.val.(*participantsBatchPut)
	failed := 0
	var first *partyResult
	for i := range put.PartyList {
		if r := &put.PartyList[i]; r.ErrorInformation != nil {
			failed++
			if first == nil {
				first = r
			}
		}
	}
	if first != nil {
		return &Error{Phase: PhaseRegister, Code: first.ErrorInformation.ErrorCode,
			Description: fmt.Sprintf("%d of %d aliases refused; %s: %s", failed, len(cs), partyOf(&first.PartyID), first.ErrorInformation.ErrorDescription),
			Err:         ErrCallback}
	}
	if len(put.PartyList) != len(cs) {
		return &Error{Phase: PhaseRegister, Description: fmt.Sprintf("the hub answered for %d of %d aliases", len(put.PartyList), len(cs)), Err: ErrUnexpected}
	}
	return nil
}

// putParticipants takes PUT /participants/{Type}/{ID}[/{SubId}].
func (f *FSP) putParticipants(in *inbound) *protocolError {
	p, perr := partyFromSegs(in.segs, false)
	if perr != nil {
		return perr
	}
	var b participantsPut
	if perr := decode(in, &b); perr != nil {
		return perr
	}
	f.deliverAfter(in, "p:"+p.String(), callback{val: &b})
	return nil
}

// putParticipantsError takes PUT /participants/{Type}/{ID}[/{SubId}]/error.
func (f *FSP) putParticipantsError(in *inbound) *protocolError {
	p, perr := partyFromSegs(in.segs, true)
	if perr != nil {
		return perr
	}
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	f.deliverAfter(in, "p:"+p.String(), callback{info: info})
	return nil
}

// putParticipantsBatch takes PUT /participants/{requestId}.
func (f *FSP) putParticipantsBatch(in *inbound) *protocolError {
	var b participantsBatchPut
	if perr := decode(in, &b); perr != nil {
		return perr
	}
	if len(b.PartyList) == 0 {
		return missing("partyList")
	}
	f.deliverAfter(in, "b:"+in.segs[0], callback{val: &b})
	return nil
}

// putParticipantsBatchError takes PUT /participants/{requestId}/error.
func (f *FSP) putParticipantsBatchError(in *inbound) *protocolError {
	info, perr := checkErrorBody(in)
	if perr != nil {
		return perr
	}
	f.deliverAfter(in, "b:"+in.segs[0], callback{info: info})
	return nil
}
