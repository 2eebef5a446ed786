       01  T033-REQUEST.
           05  T033-TICKET-ID         PIC X(20).

       01  T033-RESPONSE.
           05  T033-TICKET-ID         PIC X(20).
           05  T033-AMOUNT-PAID       PIC S9(9)V99 COMP-3.
           05  T033-PAYMENT-MODE      PIC X(1).
