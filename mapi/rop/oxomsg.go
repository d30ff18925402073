package rop

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pochta/pochta/directory"
	"github.com/pochta/pochta/internal/delivery"
	mp "github.com/pochta/pochta/internal/mapiprop"
	"github.com/pochta/pochta/internal/oxcmail"
	"github.com/pochta/pochta/storage"
)

// Submission and transport ROPs (MS-OXOMSG). A submitted message is
// rendered to MIME and handed to internal/delivery at once (local copies,
// the outbound queue, DSNs: the same path as SMTP submission); then it is
// deleted or kept in Sent Items (or where the message says).

// submit sends a message object and files it.
func (s *Session) submit(ctx context.Context, m *messageObj) error {
	switch {
	case m.embedded != nil || m.assoc || m.submitted:
		return mp.ErrAccessDenied
	case !m.writable:
		return mp.ErrAccessDenied
	case len(m.content.Recipients) == 0:
		return mp.ErrNoRecipients // MS-OXOMSG 3.2.5.1.1
	}
	if s.srv.opts.Deliverer == nil {
		return mp.ErrNotSupported
	}
	c := cloneMessage(m.content)
	sender, err := s.setSender(ctx, c)
	if err != nil {
		return err
	}
	s.resolveRecipients(ctx, c)
	now := time.Now().UTC()
	c.Props.Set(mp.TimeValue(mp.PidTagClientSubmitTime, now))
	c.Props.Set(mp.TimeValue(mp.PidTagMessageDeliveryTime, now))
	if !c.Props.Has(mp.PidTagInternetMessageId) {
		c.Props.Set(mp.StringValue(mp.PidTagInternetMessageId, oxcmail.NewMessageID(s.srv.opts.Hostname)))
	}
	flags, _ := c.Props.Int32(mp.PidTagMessageFlags)
	c.Props.Set(mp.Int32Value(mp.PidTagMessageFlags, (flags|mp.MessageFlagRead)&^(mp.MessageFlagUnsent|mp.MessageFlagSubmitted)))
	rcpts := c.EnvelopeRecipients()
	if len(rcpts) == 0 {
		return mp.ErrNoRecipients
	}
	raw, err := oxcmail.MAPIToInet(c, oxcmail.ToInetOptions{Hostname: s.srv.opts.Hostname, Now: now})
	if err != nil {
		return fmt.Errorf("rop: rendering submitted message: %w", err)
	}
	out := &delivery.Outgoing{Sender: sender, Raw: raw, AccountID: s.acc.ID, ArrivedAt: now}
	for _, r := range rcpts {
		out.Recipients = append(out.Recipients, delivery.Recipient{Address: r})
	}
	res, err := s.srv.opts.Deliverer.Send(ctx, out)
	if err != nil {
		return fmt.Errorf("rop: submitting: %w", err)
	}
	if res.AllFailed() {
		// Send leaves telling the sender to its caller; a MAPI client
		// learns of failures from a non-delivery report (MS-OXOMSG 3.2.5.1.1).
		s.nonDelivery(ctx, sender, raw, res, now)
	}
	s.log.Info("message submitted", "recipients", len(rcpts), "delivered", res.Delivered, "queued", res.Queued, "failed", res.Failed)
	m.content = c
	m.markChanged(mp.PidTagMessageFlags.ID())
	m.contentChanged = true
	old := m.row
	if c.Props.Bool(mp.PidTagDeleteAfterSubmit) {
		if old != nil {
			if _, err := s.srv.store.Expunge(ctx, s.mbox.accountID, old.FolderID, []int64{old.ID}); err != nil {
				return err
			}
		}
		m.submitted = true
		return nil
	}
	dest, err := s.sentFolder(ctx, c)
	if err != nil {
		return err
	}
	if err := s.saveRendered(ctx, m, dest.ID, dest.GlobCnt, now, true); err != nil {
		return err
	}
	if old != nil && old.FolderID != dest.ID {
		if _, err := s.srv.store.Expunge(ctx, s.mbox.accountID, old.FolderID, []int64{old.ID}); err != nil {
			return err
		}
	}
	m.submitted = true
	return nil
}

// setSender makes the account the sender: the client's sent-as address
// when it is one of the account's, else the primary one (no spoofing).
func (s *Session) setSender(ctx context.Context, c *oxcmail.Message) (string, error) {
	addrs := []string{s.acc.Address}
	if dir := s.srv.opts.Directory; dir != nil {
		if a, err := dir.Addresses(ctx, s.acc.ID); err == nil && len(a) > 0 {
			addrs = a
		}
	}
	chosen := addrs[0]
	want := c.Sender().Address
	for _, a := range addrs {
		if strings.EqualFold(a, want) {
			chosen = a
		}
	}
	name := s.acc.DisplayName
	if name == "" {
		name = chosen
	}
	eid := mp.AddressBookEntryID{DisplayType: mp.DisplayTypeMailUser, X500DN: s.legacyDN}.Bytes()
	for _, t := range []struct{ name, addrType, email, smtp, search, entry mp.Tag }{
		{mp.PidTagSenderName, mp.PidTagSenderAddressType, mp.PidTagSenderEmailAddress, mp.PidTagSenderSmtpAddress, mp.PidTagSenderSearchKey, mp.PidTagSenderEntryId},
		{mp.PidTagSentRepresentingName, mp.PidTagSentRepresentingAddressType, mp.PidTagSentRepresentingEmailAddress, mp.PidTagSentRepresentingSmtpAddress, mp.PidTagSentRepresentingSearchKey, mp.PidTagSentRepresentingEntryId},
	} {
		c.Props.Set(mp.StringValue(t.name, name))
		c.Props.Set(mp.StringValue(t.addrType, "SMTP"))
		c.Props.Set(mp.StringValue(t.email, chosen))
		c.Props.Set(mp.StringValue(t.smtp, chosen))
		c.Props.Set(mp.BinaryValue(t.search, oxcmail.SearchKey("SMTP", chosen)))
		c.Props.Set(mp.BinaryValue(t.entry, eid))
	}
	return chosen, nil
}

// resolveRecipients gives recipients addressed by DN ("EX") their SMTP
// address.
func (s *Session) resolveRecipients(ctx context.Context, c *oxcmail.Message) {
	for i, r := range c.Recipients {
		if _, ok := oxcmail.RecipientMailbox(r); ok {
			continue
		}
		dn := r.String(mp.PidTagEmailAddress)
		if dn == "" {
			if e, err := mp.ParseAddressBookEntryID(r.Binary(mp.PidTagEntryId)); err == nil {
				dn = e.X500DN
			}
		}
		if dn == "" {
			continue
		}
		var acc *directory.Account
		if strings.EqualFold(dn, s.legacyDN) {
			acc = s.acc
		} else if resolve := s.srv.opts.AccountByLegacyDN; resolve != nil {
			if a, err := resolve(ctx, dn); err == nil {
				acc = a
			}
		}
		if acc != nil {
			r.Set(mp.StringValue(mp.PidTagSmtpAddress, acc.Address))
			c.Recipients[i] = r
		}
	}
}

// nonDelivery tells the sender that nobody got the message.
func (s *Session) nonDelivery(ctx context.Context, sender string, raw []byte, res *delivery.SendResult, now time.Time) {
	dsn := &delivery.DSN{ReportingMTA: s.srv.opts.Hostname, To: sender, ArrivalDate: now, Original: raw}
	for _, o := range res.Recipients {
		if o.Outcome != delivery.OutcomeFailed {
			continue
		}
		dsn.Recipients = append(dsn.Recipients, delivery.DSNRecipient{FinalRecipient: o.Address, Action: delivery.ActionFailed,
			Status: o.Status, Diagnostic: o.Diagnostic, LastAttempt: now})
	}
	if err := s.srv.opts.Deliverer.SendDSN(ctx, dsn, nil); err != nil {
		s.log.Warn("sending a non-delivery report", "to", sender, "err", err)
	}
}

// sentFolder is where a submitted message is kept: PidTagTargetEntryId,
// else PidTagSentMailEntryId or PidTagSentMailSvrEID, else Sent Items
// (MS-OXOMSG 3.2.4.1.1, 2.2.1.x).
func (s *Session) sentFolder(ctx context.Context, c *oxcmail.Message) (*storage.Folder, error) {
	for _, t := range []mp.Tag{mp.PidTagTargetEntryId, mp.PidTagSentMailEntryId} {
		if gc, ok := s.folderGlobCntOfEntryID(c.Props.Binary(t)); ok {
			if f, err := s.srv.store.FolderByGlobCnt(ctx, s.mbox.accountID, gc); err == nil {
				return f, nil
			}
		}
	}
	if v, ok := c.Props.Get(mp.PidTagSentMailSvrEID); ok {
		// PtypServerId: Ours (1), FID, MID, instance (MS-OXCDATA 2.11.1.4).
		if b, ok := v.Data.([]byte); ok && len(b) >= 9 && b[0] == 1 {
			r := mp.NewReader(b[1:9])
			if gc, ok := globCntOf(mp.ID(r.U64())); ok {
				if f, err := s.srv.store.FolderByGlobCnt(ctx, s.mbox.accountID, gc); err == nil {
					return f, nil
				}
			}
		}
	}
	return s.srv.store.FolderByRole(ctx, s.mbox.accountID, storage.RoleSent)
}

// ropSubmitMessage sends a message, saved or not (MS-OXOMSG 3.2.5.1;
// ruler submits one it never saved, MAPI.md §13 item 3).
func (s *Session) ropSubmitMessage(ctx context.Context, x *SubmitMessageRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if err := s.submit(ctx, m); err != nil {
		return nil, err
	}
	return newResp[*SubmitMessageResponse](x), nil
}

// ropTransportSend sends like RopSubmitMessage for a client acting as its
// own spooler (MS-OXOMSG 3.2.5.6); no properties are returned.
func (s *Session) ropTransportSend(ctx context.Context, x *TransportSendRequest, in *handleEntry) (Response, error) {
	m, err := messageOf(in)
	if err != nil {
		return nil, err
	}
	if err := s.submit(ctx, m); err != nil {
		return nil, err
	}
	return newResp[*TransportSendResponse](x), nil
}

// ropAbortSubmit: submission is immediate, so there is never anything
// left to abort (MS-OXOMSG 3.2.5.2).
func (s *Session) ropAbortSubmit(ctx context.Context, x *AbortSubmitRequest, in *handleEntry) (Response, error) {
	switch in.obj.(type) {
	case *logonObj, *folderObj:
	default:
		return nil, mp.ErrNotSupported
	}
	return nil, mp.ErrUnableToAbort
}

// ropSpoolerLockMessage: there is no spooler queue to lock; the message
// must exist (MS-OXOMSG 3.2.5.7).
func (s *Session) ropSpoolerLockMessage(ctx context.Context, x *SpoolerLockMessageRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	gc, ok := globCntOf(x.MessageID)
	if !ok {
		return nil, mp.ErrNotFound
	}
	if _, err := s.srv.store.MessageByGlobCnt(ctx, s.mbox.accountID, gc); err != nil {
		return nil, err
	}
	return newResp[*SpoolerLockMessageResponse](x), nil
}

// ropSetSpooler: the server is its own spooler (MS-OXOMSG 3.2.5.8).
func (s *Session) ropSetSpooler(ctx context.Context, x *SetSpoolerRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	return newResp[*SetSpoolerResponse](x), nil
}

// ropGetAddressTypes (MS-OXOMSG 3.2.5.3).
func (s *Session) ropGetAddressTypes(ctx context.Context, x *GetAddressTypesRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	resp := newResp[*GetAddressTypesResponse](x)
	resp.AddressTypes = []string{"SMTP", "EX"}
	return resp, nil
}

// ropGetTransportFolder answers the Outbox (MS-OXOMSG 3.2.5.4).
func (s *Session) ropGetTransportFolder(ctx context.Context, x *GetTransportFolderRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	resp := newResp[*GetTransportFolderResponse](x)
	resp.FolderID = roleFID(storage.RoleOutbox)
	return resp, nil
}

// ropOptionsData: no address type has options (MS-OXOMSG 3.2.5.5).
func (s *Session) ropOptionsData(ctx context.Context, x *OptionsDataRequest, in *handleEntry) (Response, error) {
	if _, ok := in.obj.(*logonObj); !ok {
		return nil, mp.ErrNotSupported
	}
	resp := newResp[*OptionsDataResponse](x)
	resp.Reserved = 1
	return resp, nil
}
