      * T090 - "Push coupon" (coupon push to the terminal's PDV)
      * Courant's own frame, in the style of the PDV contract. The
      * central system is the requester: direction Q goes from the
      * central system to the terminal, the terminal acknowledges
      * with direction R (same type, terminal id and sequence).
      * T090-ACTION: I = coupon issued, C = coupon cancelled (the bet
      * it rewarded was cancelled). Amounts are in euro cents.
      * Timestamps are YYYYMMDDhhmmssSSS, Europe/Paris local time.
       01  T090-REQUEST.
           05  T090-ACTION            PIC X(1).
               88  T090-ISSUE             VALUE 'I'.
               88  T090-CANCEL            VALUE 'C'.
           05  T090-COUPON-CODE       PIC X(16).
           05  T090-CAMPAIGN-ID       PIC X(12).
           05  T090-VALUE-CENTS       PIC S9(7) COMP-3.
           05  T090-TICKET-ID         PIC X(20).
           05  T090-ISSUED-AT         PIC 9(17) COMP-3.
           05  T090-EXPIRES-AT        PIC 9(17) COMP-3.
           05  T090-MESSAGE           PIC X(40).

       01  T090-RESPONSE.
           05  T090-COUPON-CODE       PIC X(16).
           05  T090-ACK-CODE          PIC X(2).
